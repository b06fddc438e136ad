"""Text normalization applied at scoring time (raw transcripts are stored; normalizing again needs no ASR).

English uses Whisper's EnglishTextNormalizer with its British-to-American spelling map, as packaged by
`whisper-normalizer` (transformers' copy needs that map downloaded). Every other language uses Whisper's
BasicTextNormalizer, which lowercases, removes bracketed text and punctuation and keeps diacritics.
The normalizer's name and the package version are stored with every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version


@dataclass(frozen=True)
class Normalizer:
    name: str
    version: str
    fn: Callable[[str], str]

    def __call__(self, text: str) -> str:
        return " ".join(self.fn(text).split())


@cache
def english() -> Normalizer:
    from whisper_normalizer.english import EnglishTextNormalizer

    return Normalizer("whisper-english", f"whisper-normalizer {version('whisper-normalizer')}", EnglishTextNormalizer())


@cache
def basic() -> Normalizer:
    from whisper_normalizer.basic import BasicTextNormalizer

    return Normalizer("whisper-basic", f"whisper-normalizer {version('whisper-normalizer')}", BasicTextNormalizer())


def normalizer_for(language: str) -> Normalizer:
    """Whisper's English normalizer for English, the basic one for every other language."""
    return english() if language.split("-")[0].lower() == "en" else basic()
