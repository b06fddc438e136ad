"""Audio a run keeps for listening (`hybridbench run --listen N`): for the first N items of each suite, the
original and each codec's decoding at a few depths, as FLAC at the codec's own sample rate, indexed in
`listen.jsonl` (one line per file). Reports put them side by side; nothing here is scored.

Kept audio is opt-in because it is the one part of a run that grows with audio length: 3 items x 3 depths x
5 codecs of 10-s speech at 24 kHz is about 10 MB of FLAC.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from hybridbench.audio import write_audio

LISTEN_DIR = "listen"
LISTEN_INDEX = "listen.jsonl"


def listen_depths(depths: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """The depths whose audio is kept: the first, middle and last a codec is evaluated at."""
    ordered = sorted(set(depths))
    if not ordered:
        return ()
    return tuple(sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]}))


def safe_name(text: str) -> str:
    """A file-name-safe form of an item id or codec name that stays unique (ids may hold '/' or spaces)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"
    if cleaned == text:
        return cleaned
    return f"{cleaned[:60]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def clip_path(suite: str, item_id: str, codec: str | None, depth: int | None) -> Path:
    """Where a kept clip lives, relative to the run folder."""
    name = "original.flac" if codec is None else f"{safe_name(codec)}-d{depth}.flac"
    return Path(LISTEN_DIR) / safe_name(suite) / safe_name(item_id) / name


class ListeningWriter:
    """Writes kept clips into a run folder and indexes each one as it is written."""

    def __init__(self, run_folder: Path):
        self.folder = Path(run_folder)

    def has(self, suite: str, item_id: str, codec: str | None, depth: int | None) -> bool:
        return (self.folder / clip_path(suite, item_id, codec, depth)).exists()

    def write(
        self,
        suite: str,
        item_id: str,
        codec: str | None,
        depth: int | None,
        audio: np.ndarray,
        sample_rate: int,
    ) -> Path:
        relative = clip_path(suite, item_id, codec, depth)
        path = self.folder / relative
        write_audio(path, audio, sample_rate, "FLAC")
        record = {
            "suite": suite, "item_id": item_id, "codec": codec, "depth": depth,
            "path": relative.as_posix(), "sample_rate": sample_rate,
        }  # fmt: skip
        with open(self.folder / LISTEN_INDEX, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        return path
