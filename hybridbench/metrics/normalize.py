"""Text normalization applied at scoring time (raw transcripts are stored; normalizing again needs no ASR).

English uses Whisper's EnglishTextNormalizer with its British-to-American spelling map, as packaged by
`whisper-normalizer` (transformers' copy needs that map downloaded). Every other language uses Whisper's
BasicTextNormalizer, which lowercases, removes bracketed text and punctuation and keeps diacritics.
An ASR profile may name another normalizer (the `seedtts-eval` profile uses seed-tts-eval's own cleaning), and
`hybridbench rescore` / `verify` may score a stored run under any named one (`NAMED`); `verbatim` compares the
texts as written (whitespace aside), to show how much of a WER the normalizer alone accounts for.
The normalizer's name and the package version are stored with every run.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

from hybridbench.errors import HybridbenchError


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

    return Normalizer(
        "whisper-english", f"whisper-normalizer {version('whisper-normalizer')}", EnglishTextNormalizer()
    )


@cache
def basic() -> Normalizer:
    from whisper_normalizer.basic import BasicTextNormalizer

    return Normalizer(
        "whisper-basic", f"whisper-normalizer {version('whisper-normalizer')}", BasicTextNormalizer()
    )


# seed-tts-eval's English cleaning (run_wer.py): every punctuation mark except the apostrophe removed,
# double spaces collapsed, lowercased. No number or spelling normalization, unlike Whisper's.
_SEEDTTS_PUNCTUATION = str.maketrans("", "", "".join(c for c in string.punctuation if c != "'"))


@cache
def seedtts() -> Normalizer:
    return Normalizer(
        "seedtts-eval",
        "seed-tts-eval run_wer.py cleaning",
        lambda t: t.translate(_SEEDTTS_PUNCTUATION).lower(),
    )


@cache
def verbatim() -> Normalizer:
    """No normalization (whitespace collapsed only): case and punctuation count as errors."""
    return Normalizer("verbatim", "1", lambda t: t)


NAMED = {
    "whisper-english": english,
    "whisper-basic": basic,
    "seedtts-eval": seedtts,
    "verbatim": verbatim,
}


def normalizer_named(name: str) -> Normalizer:
    """The normalizer called `name`; an unknown name is a one-line error listing the valid ones."""
    if name not in NAMED:
        raise HybridbenchError(f"unknown normalizer {name!r}", f"valid normalizers: {', '.join(NAMED)}")
    return NAMED[name]()


def normalizer_for(language: str, name: str | None = None) -> Normalizer:
    """The named normalizer, or by default Whisper's English one for English and the basic one otherwise."""
    if name is not None:
        return normalizer_named(name)
    return english() if language.split("-")[0].lower() == "en" else basic()
