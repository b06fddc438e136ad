"""The codec contract every adapter implements.

A codec turns a waveform into integer codes `[B, Q, F]` (Q codebooks, F frames) and decodes any prefix of the
codebooks back to audio. Depth k means "the first k codebooks", so a benchmark encodes once at full depth and
decodes `codes[:, :k]` for every k it measures. Bitrate is derived from the frame rate and the codebook sizes,
never typed in.

Static facts (sample rate, frame rate, codebook sizes) are class attributes so that `hybridbench codecs` can
list a codec without loading its weights; an adapter whose facts depend on the checkpoint overrides `describe`.

What a codec can do is declared, never guessed by the harness, on the class with defaults here: how its depths
compose (`depth_kind`, `valid_depths`), whether a padded batch gives each item's own codes (`batch_exact`),
whether it is causal and streams (`causal`, `streamable`), and whether it runs an SSL model at inference that
can be timed on its own (`needs_ssl_at_inference`, `ssl_timed_apart` with `semantic_features`). The runner,
the speed measurement and the reports read only these declarations (through `CodecInfo` where no instance
exists).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, ClassVar

import torch

from hybridbench.errors import HybridbenchError


@dataclass(frozen=True)
class WeightsStatus:
    """Whether a codec's weights are present here, where they are, and how to get them if not."""

    available: bool
    location: str | None = None
    hint: str = ""
    sha256: str | None = None


class DepthKind(str, Enum):
    """What depth k means for a codec (the contract is always: decode `codes[:, :k]`)."""

    # A residual stack: codebook k refines depths 1..k-1; the bitrate at depth k sums rows 1..k.
    RESIDUAL = "residual"
    # Rows grouped by temporal scale (SNAC): only whole scales decode, so only some depths are valid.
    MULTI_SCALE = "multi-scale"
    # Separate encodings at several bitrates (Opus, AMR-NB simulcast): depth k reads row k alone, and its
    # bitrate is that operating point's (`depth_bitrates`), not a sum.
    OPERATING_POINTS = "operating-points"


@dataclass(frozen=True)
class CodecInfo:
    """Everything a reader needs to compare codecs honestly; stored with every run."""

    name: str
    sample_rate: int
    frame_rate: float
    codebook_sizes: tuple[int, ...]
    causal: bool | None = None
    needs_ssl_at_inference: bool = False
    parameters: int | None = None
    weights_license: str = "unknown"
    source: str = ""
    description: str = ""
    depth_kind: DepthKind = DepthKind.RESIDUAL
    # The depths that decode, in order; None: every depth 1..Q.
    valid_depths: tuple[int, ...] | None = None
    # Bits/s at each depth of an OPERATING_POINTS codec; None: derived from the frame rate and codebook sizes.
    depth_bitrates: tuple[float, ...] | None = None
    batch_exact: bool = False
    streamable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_codebooks(self) -> int:
        return len(self.codebook_sizes)

    @property
    def depths(self) -> tuple[int, ...]:
        """Every depth this codec decodes."""
        return self.valid_depths or tuple(range(1, self.num_codebooks + 1))

    def bitrate(self, depth: int) -> float:
        return bitrate(self.frame_rate, self.codebook_sizes, depth, self.depth_bitrates)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["codebook_sizes"] = list(self.codebook_sizes)
        d["depth_kind"] = self.depth_kind.value
        for key in ("valid_depths", "depth_bitrates"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d


# Token codecs run at 100 frames/s or fewer; a classic codec's "codes" are bitstream symbols at hundreds to
# thousands per second (G.722's 8,000, Opus's 1,000) and the identity's are PCM samples.
MAX_TOKEN_FRAME_RATE = 200.0


def codes_are_tokens(info: dict[str, Any]) -> bool:
    """Whether a codec's codes (its CodecInfo as a dict) are quantizer indices a language model would learn:
    what codebook usage and tokenizer cards are about, and what a run keeps (small beside the audio)."""
    return (
        info.get("frame_rate", float("inf")) <= MAX_TOKEN_FRAME_RATE
        and info.get("depth_kind") != DepthKind.OPERATING_POINTS.value
    )


def bitrate(
    frame_rate: float,
    codebook_sizes: tuple[int, ...],
    depth: int,
    depth_bitrates: tuple[float, ...] | None = None,
) -> float:
    """Bits per second at `depth`: frame_rate * sum(log2(size)) over the first `depth` codebooks, or the
    codec's own per-depth figure where it declares one (simulcast codecs)."""
    if not 1 <= depth <= len(codebook_sizes):
        raise HybridbenchError(
            f"depth {depth} is out of range for a codec with {len(codebook_sizes)} codebooks",
            f"choose a depth from 1 to {len(codebook_sizes)}",
        )
    if depth_bitrates is not None:
        return float(depth_bitrates[depth - 1])
    return frame_rate * sum(math.log2(size) for size in codebook_sizes[:depth])


class Codec(ABC):
    """A neural (or reference) speech codec behind hybridbench's one interface.

    Subclasses set the class attributes below, implement `encode`/`_decode`, and `load` builds a ready,
    eval-mode instance on a device.
    """

    name: ClassVar[str]
    sample_rate: ClassVar[int]
    frame_rate: ClassVar[float]
    codebook_sizes: ClassVar[tuple[int, ...]]
    causal: ClassVar[bool | None] = None
    needs_ssl_at_inference: ClassVar[bool] = False
    # Capabilities (see the module docstring); the defaults are the cautious answers.
    depth_kind: ClassVar[DepthKind] = DepthKind.RESIDUAL
    # Encoding a zero-padded batch gives every item the codes it gets alone (and decoding likewise), so the
    # runner may batch items of different lengths without changing a number.
    batch_exact: ClassVar[bool] = False
    # Encodes and decodes chunk by chunk with carried state, giving the offline codes and audio.
    streamable: ClassVar[bool] = False
    # `semantic_features(wav)` runs the inference-time SSL model alone, so speed reports can split it out.
    ssl_timed_apart: ClassVar[bool] = False
    weights_license: ClassVar[str] = "unknown"
    source: ClassVar[str] = ""
    description: ClassVar[str] = ""
    precision: str = "float32"  # how the codec computes, as reported beside its speed

    def __init__(self, *, device: str | torch.device = "cpu"):
        self.device = torch.device(device)

    # ---- facts -------------------------------------------------------------------------------------------
    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        """Static facts about the codec; adapters whose facts come from the checkpoint override this."""
        return CodecInfo(
            name=cls.name,
            sample_rate=cls.sample_rate,
            frame_rate=cls.frame_rate,
            codebook_sizes=tuple(cls.codebook_sizes),
            causal=cls.causal,
            needs_ssl_at_inference=cls.needs_ssl_at_inference,
            weights_license=cls.weights_license,
            source=cls.source,
            description=cls.description,
            depth_kind=cls.depth_kind,
            valid_depths=cls.valid_depths(),
            depth_bitrates=cls.depth_bitrates(),
            batch_exact=cls.batch_exact,
            streamable=cls.streamable,
        )

    @classmethod
    def valid_depths(cls) -> tuple[int, ...] | None:
        """The depths that decode when only some do (a MULTI_SCALE codec's whole scales); None: all 1..Q."""
        return None

    @classmethod
    def depth_bitrates(cls) -> tuple[float, ...] | None:
        """Bits/s at each depth of an OPERATING_POINTS codec (each its own encoding); None for the others, whose
        bitrate is derived from the frame rate and the first k codebook sizes."""
        return None

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        """Where the weights are (or the command that provides them). Codecs without weights are always ready."""
        return WeightsStatus(available=True, location=None, hint="no weights needed")

    @classmethod
    @abstractmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> Codec:
        """Build the codec with its weights, in eval mode, on `device`.

        Raises WeightsNotFoundError (with the command that fixes it) when the weights are not present.
        """

    @property
    def num_codebooks(self) -> int:
        return len(self.codebook_sizes)

    def bitrate(self, depth: int) -> float:
        """Bits per second when decoding from the first `depth` codebooks."""
        return bitrate(self.frame_rate, tuple(self.codebook_sizes), depth, type(self).depth_bitrates())

    def info(self) -> CodecInfo:
        """Facts of this loaded instance, including its parameter count."""
        return dataclasses.replace(type(self).describe(), parameters=self.parameter_count())

    # The parameter count of the model as trained (and published), kept when `fold_for_inference` folds
    # weight normalisation away (which merges each layer's g and v into one weight, so fewer tensors remain).
    parameters_as_trained: int | None = None

    def parameter_count(self) -> int | None:
        if self.parameters_as_trained is not None:
            return self.parameters_as_trained
        module = getattr(self, "model", None)
        if isinstance(module, torch.nn.Module):
            return sum(p.numel() for p in module.parameters())
        return None

    def fold_for_inference(self) -> int:
        """Fold `self.model`'s weight normalisation into plain weights (the same values; codecs/weight_norm.py),
        keeping the parameter count as trained. Returns how many layers were folded."""
        from hybridbench.codecs.weight_norm import fold_weight_norm

        self.parameters_as_trained = self.parameter_count()
        return fold_weight_norm(self.model)

    # ---- the two operations ------------------------------------------------------------------------------
    @abstractmethod
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] float at `sample_rate` -> codes [B, Q, F] int64 (all codebooks)."""

    @abstractmethod
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] int64 -> wav [B, 1, T'] float at `sample_rate`, any 1 <= k <= Q."""

    def decode(self, codes: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Decode the first k = codes.shape[1] codebooks; trim or zero-pad to `length` samples if given."""
        if codes.dim() != 3:
            raise HybridbenchError(f"{self.name}: codes must be [B, k, F], got shape {tuple(codes.shape)}")
        k = codes.shape[1]
        if not 1 <= k <= self.num_codebooks:
            raise HybridbenchError(
                f"{self.name}: cannot decode {k} codebooks", f"choose 1 to {self.num_codebooks} codebooks"
            )
        wav = self._decode(codes)
        return match_length(wav, length) if length is not None else wav

    def semantic_features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> the inference-time SSL model's features alone (codecs declaring `ssl_timed_apart`)."""
        raise NotImplementedError(f"{self.name} does not run its SSL model apart (ssl_timed_apart is False)")

    def check_input(self, wav: torch.Tensor) -> None:
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise HybridbenchError(f"{self.name}: audio must be [B, 1, T] mono, got shape {tuple(wav.shape)}")


def require_same_facts(codec: str, fields: str, found: tuple, wanted: tuple, hint: str) -> None:
    """Refuse a checkpoint whose architecture facts (`fields`, e.g. "sample rate, frame rate, codebooks,
    size") differ from the adapter's published ones, instead of loading it under the wrong name."""
    if found != wanted:
        raise HybridbenchError(f"{codec}: the checkpoint has ({fields}) = {found}, expected {wanted}", hint)


def match_length(wav: torch.Tensor, length: int) -> torch.Tensor:
    """Trim or zero-pad the last axis to `length` samples (codec outputs are often a few samples off)."""
    have = wav.shape[-1]
    if have > length:
        return wav[..., :length]
    if have < length:
        return torch.nn.functional.pad(wav, (0, length - have))
    return wav
