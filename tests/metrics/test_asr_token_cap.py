"""The ASR token cap: it never bites on real read speech, it stops decoding where it says, it is recorded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hybridbench.metrics.asr import ASR_PROFILES, Transcriber


@pytest.fixture(scope="module")
def speech(synthetic_en_items) -> list[np.ndarray]:
    from hybridbench.audio import load_tensor

    return [load_tensor(item.audio_path, 16000)[0, 0].numpy() for item in synthetic_en_items[:4]]


def test_the_cap_grows_with_duration_and_is_part_of_the_profile():
    base = ASR_PROFILES.get("whisper-base")
    assert base.token_cap(1.0) == 26 and base.token_cap(3.2) == 48
    assert base.token_cap(90.0) == base.token_cap(30.0) == 316  # per 30 s window
    assert "10 per second" in base.to_dict()["max_new_tokens"]
    large = ASR_PROFILES.get("whisper-large-v3")  # the paper's protocol: Whisper's own limit
    assert large.token_cap(3.0) is None and "224" in large.to_dict()["max_new_tokens"]


def test_the_default_cap_leaves_read_speech_untouched_and_a_tight_one_truncates(speech):
    capped = Transcriber(ASR_PROFILES.get("whisper-tiny.en"))
    uncapped = Transcriber(dataclasses.replace(capped.profile, max_tokens_per_second=None))
    # Four sentences end to end: about 13 s and 40 words of speech in one window.
    joined = np.concatenate(speech)
    full = uncapped.transcribe(joined, "en")
    assert capped.transcribe(joined, "en") == full and len(full.split()) > 30
    assert capped.transcribe_batch(speech, "en") == [uncapped.transcribe(a, "en") for a in speech]

    tight = Transcriber(dataclasses.replace(capped.profile, max_tokens_per_second=0.1))
    assert tight.profile.token_cap(joined.shape[-1] / 16000) == 18
    short = tight.transcribe(joined, "en")
    assert 0 < len(short.split()) < 18 and full.lower().startswith(short.lower())
