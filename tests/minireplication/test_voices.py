"""The training voices render real speech that Whisper understands."""

from __future__ import annotations

import numpy as np
import pytest

from hybridcodec.errors import HybridcodecError
from minireplication.voices import VOICES, voice

EXPECTED_RATE = {"pico-en-US": 16000, "pico-en-GB": 16000, "piper-joe": 22050, "hibari-heart": 24000}


@pytest.mark.parametrize("name", sorted(VOICES))
def test_each_voice_renders_a_sentence_at_its_own_rate(name: str):
    audio, sr = voice(name).render("Please enter your account number.")
    assert sr == EXPECTED_RATE[name]
    assert audio.dtype == np.float32 and 1.0 < len(audio) / sr < 5.0
    assert 0.01 < float(np.sqrt(np.mean(audio**2))) < 0.9  # speech, not silence or clipping
    assert voice(name).version  # keys the rendered files


def test_an_unknown_voice_names_the_known_ones():
    with pytest.raises(HybridcodecError, match="pico-en-US"):
        voice("nope")
