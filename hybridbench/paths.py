"""Where hybridbench keeps caches (synthesized audio, assembled models, downloaded weights)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """`$HYBRIDBENCH_CACHE` (default `~/.cache/hybridbench`), joined with `parts`, created on demand."""
    root = Path(os.environ.get("HYBRIDBENCH_CACHE") or Path.home() / ".cache" / "hybridbench")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
