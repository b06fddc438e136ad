"""Mimi (Kyutai, the Moshi codec) through transformers' `MimiModel`: `mimi`.

24 kHz, 12.5 Hz, a split RVQ of 32 x 2048: codebook 0 is the semantic one (distilled from WavLM during training;
no SSL model runs at inference), codebooks 1..31 are acoustic. Depth k = the first k codebooks; Moshi uses 8
(12.5 * 8 * 11 = 1100 b/s, the published 1.1 kbps). The model is causal (streaming convolutions and causal
transformers).

We encode once with `encode(x, num_quantizers=32)` and decode any prefix with `decode(codes[:, :k])`, the model's
own paths; `encode(x, num_quantizers=k)` gives exactly our first k codebooks (tested). Mimi pads its input to
whole frames, so 1 s in gives 13 frames and 1.04 s out: `decode(codes, length=T)` trims to the input length.

Weights: a transformers folder (`config.json` + `model.safetensors`) from `--weights DIR` or the cache filled by
`hybridbench weights fetch mimi` (hf://kyutai/mimi); loaded with `MimiModel.from_pretrained` (safetensors only).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from hybridbench.codecs._transformers import TransformersCodec
from hybridbench.codecs.base import CodecInfo


class Mimi(TransformersCodec):
    name = "mimi"
    sample_rate = 24000
    frame_rate = 12.5
    codebook_sizes = (2048,) * 32
    causal = True
    # Causal convolutions with zero ("constant") padding and causal attention suggest a padded batch is exact,
    # but that is unproven with its weights (absent here, so test_batch_exact cannot run it): batched by equal
    # length until a test shows it.
    batch_exact = False
    needs_ssl_at_inference = False
    weights_license = "CC-BY-4.0 per the kyutai/mimi model card (not verifiable offline here)"
    source = "transformers MimiModel; weights hf://kyutai/mimi"
    model_class = "MimiModel"
    checkpoint = "kyutai/mimi"
    description = "Mimi (Moshi's codec), 12.5 Hz, semantic codebook + 31 acoustic, 32 x 2048 split RVQ"
    parameters: ClassVar[int] = 79_308_609  # MimiModel(MimiConfig()), checked by a test

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        extra = {"semantic_codebooks": 1, "semantic_teacher": "WavLM (training only)"}
        return CodecInfo(**{**info.__dict__, "parameters": cls.parameters, "extra": extra})

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] at 24 kHz -> codes [B, 32, ceil(T / 1920)] int64 (row 0 semantic)."""
        self.check_input(wav)
        out = self.model.encode(wav.to(self.device), num_quantizers=self.num_codebooks)
        return out.audio_codes.to(torch.int64)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * 1920]."""
        return self.model.decode(codes.to(self.device)).audio_values
