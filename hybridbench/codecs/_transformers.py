"""The part of an adapter that every codec loaded through a transformers model class shares: the model held in
eval mode on the device, its config checked against the adapter's published facts, and weights located and
loaded with `from_pretrained` (safetensors only)."""

from __future__ import annotations

from typing import ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs import _support
from hybridbench.codecs.base import Codec, WeightsStatus, require_same_facts

PIP = "transformers"


class TransformersCodec(Codec):
    """Subclasses name their transformers class and checkpoint, and say where their config keeps its sample rate
    (transformers' audio configs disagree on the field's name)."""

    model_class: ClassVar[str]
    checkpoint: ClassVar[str]  # the published checkpoint, named in the error for a wrong one
    sample_rate_field: ClassVar[str] = "sampling_rate"

    def __init__(
        self, model: torch.nn.Module, *, device: str | torch.device = "cpu", weights_sha256: str | None = None
    ):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()
        self.weights_sha256 = weights_sha256
        config = model.config
        found = (
            getattr(config, self.sample_rate_field),
            float(config.frame_rate),
            config.num_quantizers,
            config.codebook_size,
        )
        wanted = (self.sample_rate, self.frame_rate, len(self.codebook_sizes), self.codebook_sizes[0])
        require_same_facts(
            self.name,
            "sample rate, frame rate, codebooks, size",
            found,
            wanted,
            f"pass the {self.checkpoint} checkpoint",
        )

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        return _support.weights_status(cls.name, "transformers", PIP, weights)

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> TransformersCodec:
        transformers = _support.require("transformers", PIP, cls.name)
        located = W.locate(cls.name, weights, codec=cls.name)
        model = getattr(transformers, cls.model_class).from_pretrained(
            str(located.folder), use_safetensors=True
        )
        return cls(model, device=device, weights_sha256=located.sha256)
