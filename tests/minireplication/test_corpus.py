"""The offline training corpus: test sentences never trained on, stable voice choice, manifest with hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from hybridbench.audio import write_wav
from hybridbench.suites.base import Item
from minireplication import corpus


def test_voices_for_is_stable_and_spreads_the_sentences_over_every_voice():
    voices = ("a", "b", "c", "d")
    picks = [corpus.voices_for(f"sentence {i}", voices, 2) for i in range(400)]
    assert picks == [corpus.voices_for(f"sentence {i}", voices, 2) for i in range(400)]
    assert all(len(set(p)) == 2 for p in picks)
    counts = {v: sum(v in p for p in picks) for v in voices}
    assert all(150 < n < 250 for n in counts.values()), counts  # about half of the sentences each


def _items(folder: Path, texts: list[str], prefix: str) -> list[Item]:
    items = []
    for i, text in enumerate(texts):
        path = folder / f"{prefix}{i}.wav"
        write_wav(path, np.sin(np.arange(8000) / 5.0).astype(np.float32) * 0.1, 8000)
        items.append(Item(id=f"{prefix}-{i}", audio_path=path, text=text, language="en"))
    return items


def test_build_drops_test_sentences_and_lists_every_file_with_its_hash(tmp_path: Path, monkeypatch):
    train = ["Please hold.", "Thank you for calling.", "Goodbye!"]
    tests = {
        "asterisk-en-test": ["goodbye"],
        "synthetic-en": ["Nothing shared."],
        "librivox-mini": ["Other."],
    }
    fake = {"asterisk-en-train": _items(tmp_path / "src", train, "train"), **{
        name: _items(tmp_path / "src", texts, name) for name, texts in tests.items()}}  # fmt: skip
    monkeypatch.setattr(corpus, "_suite_items", lambda name: fake[name])

    built = corpus.build(
        tmp_path / "corpus", voices=("pico-en-US", "pico-en-GB"), voices_per_sentence=1, progress=False
    )
    rows = [json.loads(line) for line in built.manifest.read_text().splitlines()]
    # "Goodbye!" normalizes like the test sentence "goodbye": neither the prompt nor any voice says it.
    assert {r["text"] for r in rows} == {"Please hold.", "Thank you for calling."}
    real = [r for r in rows if r["source"] == "asterisk-en-train"]
    synthetic = [r for r in rows if r["source"] != "asterisk-en-train"]
    assert len(real) == 2 and len(synthetic) == 2  # one voice per sentence
    for r in rows:
        path = built.root / r["audio"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == r["sha256"]
        assert r["duration"] > 0.3
    # Real prompts are resampled to the corpus rate: 8000 samples at 8 kHz -> 1.0 s.
    assert real[0]["duration"] == pytest.approx(1.0, abs=1e-3)
    summary = built.summary
    assert summary["manifest_sha256"] == built.manifest_sha256
    assert summary["train_prompts_dropped_for_test_overlap"] == 1 and summary["files"] == 4

    # Building again renders nothing new and gives the same manifest.
    before = built.manifest_sha256
    assert corpus.build(tmp_path / "corpus", voices=("pico-en-US", "pico-en-GB"), voices_per_sentence=1,
                        progress=False).manifest_sha256 == before  # fmt: skip


def test_a_missing_test_suite_stops_the_build_with_its_prepare_command(tmp_path: Path, monkeypatch):
    from hybridbench.suites.base import SuiteStatus
    from hybridcodec.errors import HybridcodecError

    class Absent:
        @staticmethod
        def status():
            return SuiteStatus(available=False, hint="hybridbench data prepare asterisk-en")

    monkeypatch.setattr("hybridbench.suites.SUITES.get", lambda name: Absent)
    with pytest.raises(HybridcodecError, match="data prepare asterisk-en"):
        corpus.build(tmp_path, progress=False)
