"""The transformers Whisper engine gives the transcripts transformers' own ASR pipeline gives under the same
settings, batched or not, and refuses what it cannot do in one line. The model is benchmarks/tiny_whisper.py's
random-weight Whisper with the real multilingual tokenizer: no real Whisper checkpoint in the transformers format
installs offline."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.asr import ASR_PROFILES, AsrProfile, load_transcriber
from hybridbench.metrics.asr_transformers import HfWhisperTranscriber

SR = 16000


@pytest.fixture(scope="module")
def profile(tmp_path_factory, benchmark_script) -> AsrProfile:
    tiny_whisper = benchmark_script("tiny_whisper")
    folder = tiny_whisper.build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper-hf"))
    return AsrProfile(
        name="tiny-random-hf", model=str(folder), description="test", engine="transformers", beam_size=2,
        max_tokens_per_second=3.0,
    )  # fmt: skip


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    t = np.arange(2 * SR) / SR
    rng = np.random.default_rng(0)
    return [
        (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32),
        (0.1 * rng.standard_normal(3 * SR)).astype(np.float32),
        (0.3 * np.sign(np.sin(2 * np.pi * 3 * t)) * np.sin(2 * np.pi * 700 * t)).astype(np.float32),
    ]


def test_transcripts_equal_the_transformers_pipeline(profile, clips):
    from transformers import pipeline

    asr = load_transcriber(profile)
    assert isinstance(asr, HfWhisperTranscriber)
    ours = [asr.transcribe(c, "fr-FR") for c in clips]
    upstream = pipeline("automatic-speech-recognition", model=profile.model, device="cpu")
    for clip, text in zip(clips, ours, strict=True):
        kwargs = {"language": "fr", "task": "transcribe", "num_beams": 2, "do_sample": False}
        kwargs["max_new_tokens"] = profile.token_cap(clip.shape[-1] / SR)
        assert text == upstream(clip.copy(), generate_kwargs=kwargs)["text"].strip()
    assert len(set(ours)) == len(ours)  # the model hears the audio: a constant output would prove nothing


def test_a_batch_gives_each_clip_its_own_transcript(profile, clips):
    asr = load_transcriber(profile)
    alone = [asr.transcribe(c, "fr") for c in clips]
    assert asr.transcribe_batch(clips, "fr", batch_size=3) == alone
    assert asr.transcribe_batch(clips, "fr", batch_size=2) == alone


def test_long_clip_decodes_in_windows(profile, clips):
    asr = load_transcriber(dataclasses.replace(profile, max_tokens_per_second=1.0))
    long_clip = np.concatenate([clips[1]] * 11)  # 33 s: past Whisper's 30 s window
    text = asr.transcribe(long_clip, "fr")
    assert isinstance(text, str) and text


def test_refusals_are_one_line(profile, clips, tmp_path):
    english = load_transcriber(dataclasses.replace(profile, english_only=True))
    with pytest.raises(HybridbenchError, match="English-only"):
        english.transcribe(clips[0], "fr")
    with pytest.raises(HybridbenchError, match="engine 'kaldi'") as bad:
        load_transcriber(dataclasses.replace(profile, engine="kaldi"))
    assert "faster-whisper, transformers" in bad.value.hint
    with pytest.raises(HybridbenchError, match="cannot load ASR") as missing:
        load_transcriber(dataclasses.replace(profile, model=str(tmp_path / "nowhere")))
    assert "\n" not in str(missing.value)


def test_the_large_v3_profile_is_registered_on_the_transformers_engine():
    p = ASR_PROFILES.get("whisper-large-v3-hf")
    assert (p.engine, p.model) == ("transformers", "openai/whisper-large-v3")
    assert p.to_dict()["engine"] == "transformers"
    # faster-whisper profiles record no engine: the record is in every row key, and older runs must keep theirs.
    assert "engine" not in ASR_PROFILES.get("whisper-large-v3").to_dict()
