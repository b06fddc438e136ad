"""Codec registry: built-ins and third-party codecs, all declared in the `hybridbench.codecs` entry-point group."""

from hybridbench.codecs.base import (
    Codec,
    CodecInfo,
    DepthKind,
    WeightsStatus,
    bitrate,
    codes_are_tokens,
    match_length,
)
from hybridbench.registry import Registry

CODECS: Registry[type[Codec]] = Registry("codec", group="hybridbench.codecs", list_hint="hybridbench codecs")
register_codec = CODECS.register

__all__ = [
    "CODECS",
    "Codec",
    "CodecInfo",
    "DepthKind",
    "WeightsStatus",
    "bitrate",
    "codes_are_tokens",
    "match_length",
    "register_codec",
]
