"""Fixture builders for the dataset layouts: real speech (SVOX Pico via py-nanotts) written as real files.

Each test builds the published layout it needs in tmp_path; nothing generated is kept or committed.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PICO_SR = 16000


@functools.lru_cache(maxsize=64)
def _pico(text: str, voice: str) -> np.ndarray:
    from py_nanotts import NanoTTS

    pcm = NanoTTS().speak(text, voice=voice)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def say(text: str, voice: str = "en-US") -> np.ndarray:
    """Speech for `text` at 16 kHz, float32 (a copy, so callers may modify it)."""
    return _pico(text, voice).copy()


def resample_np(x: np.ndarray, sr: int) -> np.ndarray:
    """Plain linear interpolation to another rate: fixtures only need real speech at that rate, not fidelity."""
    if sr == PICO_SR:
        return x
    n = int(round(len(x) * sr / PICO_SR))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)


def write_audio(path: Path, x: np.ndarray, sr: int = PICO_SR, **kwargs) -> Path:
    """Write with soundfile (format from the extension: .wav, .flac, .mp3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), resample_np(x, sr) if x.ndim == 1 else x, sr, **kwargs)
    return path


def write_g722(path: Path, x: np.ndarray) -> Path:
    """Encode 16 kHz audio as raw G.722 (the Asterisk prompts' format) with FFmpeg through PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")[None, :]
    with av.open(str(path), "w", format="g722") as container:
        stream = container.add_stream("g722", rate=PICO_SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = PICO_SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.fixture
def audio_tools():
    """The builders above, as one object (conftest helpers are not importable by module name)."""

    class Tools:
        pass

    tools = Tools()
    for fn in (say, resample_np, write_audio, write_g722, truncate):
        setattr(tools, fn.__name__, staticmethod(fn))
    return tools


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's data folders or cache: every env var the suites read is cleared."""
    for var in list(os.environ):
        if var.startswith("HYBRIDBENCH_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path / "cache"))
