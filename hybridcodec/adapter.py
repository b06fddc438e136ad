"""HybridCodec checkpoints written by `hybridcodec train` (this repository), one adapter per trained variant.

`--weights` is a run folder or its `model.safetensors`; the checkpoint carries its own model config, so sample
rate, frame rate and codebook sizes come from the file (`describe(weights)` reads only the safetensors header).
Without `--weights` the listing shows the `paper` preset's facts. Encoding and decoding run the trainer's own
path (`hybridcodec.inference.LoadedModel`): decode(codes[:, :k]) = the model's `decode` of the first k codebooks.
The `dualcodec` variant runs its teacher at inference (named in the checkpoint); the others need no teacher.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from hybridbench.codecs.base import Codec, CodecInfo, WeightsStatus
from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridcodec.config import SEMANTIC_DECODER_KEYS
from hybridcodec.errors import HybridcodecError

_PAPER_SIZES = (16384,) + (1024,) * 11
_TRAIN_HINT = (
    "train one: hybridcodec train --preset mini --variant {variant} ... --out RUN, then --weights RUN"
)


class HybridCodec(Codec):
    """A trained `hybrid` checkpoint: semantic VQ-16384 distilled from a teacher + residual acoustic RVQ."""

    name = "hybridcodec"
    variant: ClassVar[str] = "hybrid"
    sample_rate = 24000
    frame_rate = 25.0
    codebook_sizes = _PAPER_SIZES
    causal = True
    # Causal convolutions only (left padding, right-trimmed transposed convolutions, per-frame LayerNorm, no
    # attention, no global statistics): right zero-padding cannot reach an item's own frames or samples.
    # Measured on the shipped minis: identical codes and audio, batch of 3 vs one by one (test_batch_exact).
    batch_exact = True
    streamable = True  # chunked encode/decode equal to the offline codes and audio: hybridcodec.streaming
    weights_license = "whatever your training data allows (trained locally)"
    source = "hybridcodec/ in this repository (reimplementation of arXiv 2606.06743)"
    description = (
        "HybridCodec: causal CNN, distilled semantic RVQ-1 + acoustic residual RVQ (facts from --weights)"
    )

    def __init__(self, *, codec, device: str | torch.device = "cpu"):
        super().__init__(device=device)
        self.codec = codec
        self.model = codec.model
        self.metadata = codec.metadata
        # Instance facts shadow the class defaults: they come from the checkpoint.
        self.sample_rate = codec.sample_rate
        self.frame_rate = codec.frame_rate
        self.codebook_sizes = tuple(codec.codebook_sizes)

    # What to do when no checkpoint is at hand; a subclass whose weights ship in a package says so.
    missing_hint: ClassVar[str] = _TRAIN_HINT

    @classmethod
    def default_weights(cls, weights: str | None) -> str | None:
        """The checkpoint to load when `--weights` gives none (a subclass shipping weights overrides this)."""
        return weights

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        base = super().describe()
        weights = cls.default_weights(weights)
        if not weights:
            return base
        from hybridcodec.checkpoint import read_metadata, resolve_model_path
        from hybridcodec.config import ModelConfig

        meta = read_metadata(weights)
        cfg = ModelConfig.from_json(meta["model_config"])
        return CodecInfo(
            **{
                **base.__dict__,
                "sample_rate": cfg.sample_rate,
                "frame_rate": cfg.frame_rate,
                "codebook_sizes": cfg.codebook_sizes,
                "causal": cls.causal and not cfg.needs_teacher_at_inference,
                "streamable": cls.streamable and not cfg.needs_teacher_at_inference,
                "batch_exact": cls.batch_exact and not cfg.needs_teacher_at_inference,
                "needs_ssl_at_inference": cfg.needs_teacher_at_inference,
                "parameters": _count_parameters(resolve_model_path(weights)),
                "extra": {
                    "variant": cfg.variant,
                    "teacher": cfg.teacher,
                    "step": meta.get("step"),
                    "trained_on": meta.get("device"),
                    "checkpoint": str(resolve_model_path(weights)),
                },
            }
        )

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        hint = cls.missing_hint.format(variant=cls.variant)
        weights = cls.default_weights(weights)
        if not weights:
            return WeightsStatus(available=False, location=None, hint=hint)
        path = Path(weights)
        path = path / "model.safetensors" if path.is_dir() else path
        if not path.is_file():
            return WeightsStatus(available=False, location=str(path), hint=hint)
        from hybridbench.hashing import sha256_file

        return WeightsStatus(available=True, location=str(path), sha256=sha256_file(path))

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> HybridCodec:
        status = cls.weights_status(weights)
        if not status.available:
            raise WeightsNotFoundError(
                f"{cls.name}: no checkpoint at {status.location or '(none given)'}", status.hint
            )
        from hybridcodec.inference import LoadedModel

        try:
            codec = LoadedModel.load(status.location, device=device)
        except HybridcodecError as exc:  # the harness prints its own errors as one line
            raise HybridbenchError(exc.message, exc.hint) from exc
        variant = codec.model.config.variant
        if variant != cls.variant:
            names = {c.variant: c.name for c in ADAPTERS}
            raise HybridbenchError(
                f"{status.location} is a {variant!r} checkpoint, not {cls.variant!r}",
                f"use --codec {names[variant]}",
            )
        adapter = cls(codec=codec, device=device)
        adapter.fold_for_inference()
        return adapter

    def info(self) -> CodecInfo:
        base = type(self).describe(str(self.codec.path))
        return CodecInfo(**{**base.__dict__, "parameters": self.parameter_count()})

    def parameter_count(self) -> int:
        if self.parameters_as_trained is not None:
            return self.parameters_as_trained
        named = self.model.named_parameters()
        return sum(p.numel() for name, p in named if not name.startswith(SEMANTIC_DECODER_KEYS))

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        self.check_input(wav)
        return self.codec.encode(wav.to(self.device))

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.codec.decode(codes.to(self.device))


class HybridCodecDac(HybridCodec):
    """The `dac` baseline retrained by the same trainer: one encoder/decoder + a 12-codebook RVQ, no teacher."""

    name = "hybridcodec-dac"
    variant = "dac"
    description = "DAC baseline retrained with hybridcodec (25 Hz, 12 codebooks, no distillation)"


class HybridCodecDacDistill(HybridCodec):
    """The `dac-distill` baseline: as `dac`, the first codebook distilled to the teacher during training."""

    name = "hybridcodec-dac-distill"
    variant = "dac-distill"
    description = "DAC (Distill) baseline retrained with hybridcodec (first RVQ layer distilled)"


class HybridCodecDualCodec(HybridCodec):
    """The `dualcodec` baseline: the teacher's features are the semantic branch's input, also at inference."""

    name = "hybridcodec-dualcodec"
    variant = "dualcodec"
    causal = False  # the teacher (an attention encoder over the whole input) runs at inference
    streamable = False  # so its encoder cannot stream (hybridcodec.streaming refuses it)
    batch_exact = False  # and the teacher sees an item's zero padding
    needs_ssl_at_inference = True
    ssl_timed_apart = True  # semantic_features: the teacher alone, so reports can split encode time
    description = "DualCodec design retrained with hybridcodec (teacher features as the semantic input)"

    @torch.inference_mode()
    def semantic_features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> the teacher's features at the codec's frame rate (the part of encoding that is SSL)."""
        self.check_input(wav)
        return self.codec.teacher_features(wav.to(self.device))


ADAPTERS = (HybridCodec, HybridCodecDac, HybridCodecDacDistill, HybridCodecDualCodec)


def _count_parameters(path: Path) -> int:
    """Inference parameter count from the safetensors header (no tensor is read)."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            if key.startswith(SEMANTIC_DECODER_KEYS):  # training only: not what runs at inference
                continue
            n = 1
            for dim in f.get_slice(key).get_shape():
                n *= dim
            total += n
    return total
