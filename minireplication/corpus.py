"""The offline English training corpus of the mini replication, built only from registry-installed assets.

Two parts, both 16 kHz mono 16-bit WAV under one folder with a manifest:
- `asterisk-en-train`: the real prompts of the Asterisk English `train` split (one US-English female speaker),
  decoded from G.722;
- synthetic speech: every training sentence read by `voices_per_sentence` of the voices of
  `minireplication.voices` (Pico en-US and en-GB, Piper joe, hibari heart), picked per sentence by a hash of
  (sentence, voice), so each voice reads about the same share. Two of four by default: every voice is heard
  and the teacher-feature cache (about a second per file on 2 CPU cores) stays half the size.

Training sentences are the transcripts of the `train` prompts. A sentence is dropped, and a real prompt with it
too, when its normalized text equals that of any test sentence (asterisk-en-test, synthetic-en, librivox-mini),
so no test sentence is ever heard in training, by any voice. (The Asterisk split is by recording: 16 test
prompts say a sentence that a train prompt also says.) The counts of what was dropped are in the summary.

A validation split: every sentence whose hash falls in `VALID_SHARE` (about 1 in 20, `is_validation`) is held out
of training with all its recordings, real and synthetic, and listed in `valid.jsonl`; the trainer scores its
held-out losses there (`train --valid`), which tell memorisation from learning.

`manifest.jsonl` lists every training file (relative path, text, source, duration, sha256 of the audio bytes);
`corpus.json` summarises it and holds the manifest's sha256, which checkpoints trained on it record.
Rendered files are keyed by (voice version, text), so building again only renders what is missing.

The same sentences, voices and file names come out of every build, but not the same bytes: Piper and hibari
sample their prosody (two renderings of one sentence differ), and Pico's output for a sentence depends on what
the process rendered before it. So the manifest's sha256 identifies one machine's build; a model warm-started
on another machine (`minireplication replicate --init-from`) records both builds' hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hybridbench.audio import load_audio, resample, write_wav
from hybridbench.paths import cache_dir
from minireplication.errors import ReplicationError
from minireplication.voices import VOICES, voice

SAMPLE_RATE = 16000
TRAIN_SUITE = "asterisk-en-train"
# Every English suite the replication evaluates on: none of their sentences may be trained on.
TEST_SUITES = ("asterisk-en-test", "synthetic-en", "librivox-mini")
DEFAULT_VOICES = tuple(VOICES)
MANIFEST = "manifest.jsonl"
VALID_MANIFEST = "valid.jsonl"
VALID_SHARE = 20  # one sentence in this many is held out for validation
SUMMARY = "corpus.json"


@dataclass(frozen=True)
class Corpus:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def valid_manifest(self) -> Path:
        return self.root / VALID_MANIFEST

    @property
    def summary(self) -> dict:
        return json.loads((self.root / SUMMARY).read_text())

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest.read_bytes()).hexdigest()


def default_root() -> Path:
    return cache_dir("corpora", "mini-replication-en")


def _suite_items(name: str):
    from hybridbench.suites import SUITES

    cls = SUITES.get(name)
    status = cls.status()
    if not status.available:
        raise ReplicationError(f"the training corpus needs suite {name}", status.hint)
    return cls().items()


def _normalized(text: str) -> str:
    from hybridbench.metrics.normalize import english

    return english()(text)


def test_sentences(suites: tuple[str, ...] = TEST_SUITES) -> set[str]:
    """Normalized text of every sentence of the test suites (each must be present: an absent one is an error)."""
    return {_normalized(item.text) for name in suites for item in _suite_items(name)}


def is_validation(text: str) -> bool:
    """Whether a training sentence is held out for validation: a stable choice by its normalized text."""
    digest = hashlib.sha256(f"valid|{_normalized(text)}".encode()).hexdigest()
    return int(digest[:8], 16) % VALID_SHARE == 0


def _write_manifest(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _row(root: Path, path: Path, text: str, source: str) -> dict:
    info = len(load_audio(path)[0])
    return {
        "audio": str(path.relative_to(root)),
        "text": text,
        "source": source,
        "duration": round(info / SAMPLE_RATE, 4),
        "sha256": _sha256(path),
    }


def voices_for(text: str, voices: tuple[str, ...], count: int) -> list[str]:
    """The `count` voices that read `text`: the lowest sha256(text|voice), a stable choice."""
    return sorted(voices, key=lambda v: hashlib.sha256(f"{text}|{v}".encode()).hexdigest())[:count]


def build(
    root: Path | None = None,
    *,
    voices: tuple[str, ...] = DEFAULT_VOICES,
    voices_per_sentence: int = 2,
    progress: bool = True,
) -> Corpus:
    """Build (or complete) the corpus under `root` and return it."""
    root = Path(root) if root is not None else default_root()
    root.mkdir(parents=True, exist_ok=True)
    held_out = test_sentences()
    train_items = _suite_items(TRAIN_SUITE)
    kept = [it for it in train_items if _normalized(it.text) not in held_out]
    sentences = sorted({it.text for it in kept})
    rows: list[dict] = []

    for item in tqdm(kept, desc="asterisk-en-train", disable=not progress):
        target = root / "asterisk-en-train" / f"{item.id}.wav"
        if not target.is_file():
            data, sr = load_audio(item.audio_path)
            write_wav(
                target, resample(torch.from_numpy(np.ascontiguousarray(data)), sr, SAMPLE_RATE), SAMPLE_RATE
            )
        rows.append(_row(root, target, item.text, TRAIN_SUITE))

    if not 1 <= voices_per_sentence <= len(voices):
        raise ReplicationError(f"voices_per_sentence must be 1..{len(voices)}, got {voices_per_sentence}")
    readers = {text: voices_for(text, voices, voices_per_sentence) for text in sentences}
    for name in voices:
        v = voice(name)
        mine = [text for text in sentences if name in readers[text]]
        for text in tqdm(mine, desc=name, disable=not progress):
            key = hashlib.sha256(f"{v.version}|{text}".encode()).hexdigest()[:16]
            target = root / name / f"{key}.wav"
            if not target.is_file():
                audio, sr = v.render(text)
                write_wav(target, resample(torch.from_numpy(audio), sr, SAMPLE_RATE), SAMPLE_RATE)
            rows.append(_row(root, target, text, name))

    valid = [r for r in rows if is_validation(r["text"])]
    rows = [r for r in rows if not is_validation(r["text"])]
    _write_manifest(root / MANIFEST, rows)
    _write_manifest(root / VALID_MANIFEST, valid)
    corpus = Corpus(root)
    by_source: dict[str, dict[str, float]] = {}
    for r in rows:
        s = by_source.setdefault(r["source"], {"files": 0, "hours": 0.0})
        s["files"] += 1
        s["hours"] += r["duration"] / 3600
    summary = {
        "manifest_sha256": corpus.manifest_sha256,
        "files": len(rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 4),
        "sources": {k: {"files": v["files"], "hours": round(v["hours"], 4)} for k, v in by_source.items()},
        "voices": {name: voice(name).version for name in voices},
        "voices_per_sentence": voices_per_sentence,
        "sentences": len(sentences),
        "valid": {
            "sentences": len({r["text"] for r in valid}),
            "files": len(valid),
            "hours": round(sum(r["duration"] for r in valid) / 3600, 4),
            "manifest_sha256": hashlib.sha256(corpus.valid_manifest.read_bytes()).hexdigest(),
        },
        "train_prompts": len(train_items),
        "train_prompts_dropped_for_test_overlap": len(train_items) - len(kept),
        "excluded_test_suites": list(TEST_SUITES),
        "sample_rate": SAMPLE_RATE,
    }
    (root / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return corpus
