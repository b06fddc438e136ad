"""Residual vector quantization with per-codebook sizes and a quantizer dropout that can reach depth 0.

Reused from descript-audio-codec (`dac.nn.quantize.VectorQuantize`): each codebook is DAC's factorized,
l2-normalised VQ (project to `codebook_dim`, cosine nearest neighbour, straight-through estimator,
commitment + codebook losses). What is HybridCodec's own: codebooks of different sizes in one stack (DAC's
`ResidualVectorQuantize` has one size), and dropout depths drawn from `min_depth..n` so that the acoustic
stream also learns "no acoustic codebook at all" (depth 1 = semantic only), which DAC's dropout never samples.
`from_codes` follows DAC's: sum the out-projections of the first k codebooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from dac.nn.quantize import VectorQuantize
from torch import nn


@dataclass
class QuantizedResult:
    """What a quantizer returns. Losses are batch means of the active codebooks' per-item losses."""

    z: torch.Tensor  # [B, D, F] quantized latent (sum of the active codebooks' outputs)
    codes: torch.Tensor  # [B, n, F] int64, all codebooks (inactive ones still report their index)
    commitment_loss: torch.Tensor  # scalar
    codebook_loss: torch.Tensor  # scalar
    depth: torch.Tensor  # [B] int64, how many codebooks were active per item
    first: torch.Tensor | None  # [B, D, F] output of the first codebook alone (DAC-distill's target branch)


class ResidualVQ(nn.Module):
    """A stack of DAC VectorQuantizers, each quantizing what the previous ones left over."""

    def __init__(
        self,
        *,
        input_dim: int,
        codebook_sizes: tuple[int, ...],
        codebook_dim: int,
        dropout: float = 0.0,
        min_depth: int = 1,
    ):
        super().__init__()
        self.codebook_sizes = tuple(codebook_sizes)
        self.dropout = dropout
        self.min_depth = min_depth
        self.quantizers = nn.ModuleList(
            VectorQuantize(input_dim=input_dim, codebook_size=size, codebook_dim=codebook_dim)
            for size in codebook_sizes
        )

    @property
    def n_codebooks(self) -> int:
        return len(self.quantizers)

    def sample_depth(self, batch: int, device: torch.device) -> torch.Tensor:
        """Per-item active depth [B]: all codebooks, except a `dropout` fraction of the batch that gets a uniform
        depth in [min_depth, n]. Only in training; the draw uses torch's global RNG (seeded, checkpointed)."""
        depth = torch.full((batch,), self.n_codebooks, dtype=torch.long)
        if self.training and self.dropout > 0:
            n_drop = int(batch * self.dropout)
            depth[:n_drop] = torch.randint(self.min_depth, self.n_codebooks + 1, (n_drop,))
        return depth.to(device)

    def forward(self, z: torch.Tensor, *, n_quantizers: int | None = None) -> QuantizedResult:
        """z [B, D, F] -> QuantizedResult. In eval mode, `n_quantizers` limits the depth (default: all)."""
        batch = z.shape[0]
        if self.training:
            depth = self.sample_depth(batch, z.device)
        else:
            n = self.n_codebooks if n_quantizers is None else n_quantizers
            depth = torch.full((batch,), n, dtype=torch.long, device=z.device)
        z_q = torch.zeros_like(z)
        residual = z
        commitment = z.new_zeros(())
        codebook = z.new_zeros(())
        codes, first = [], None
        for i, quantizer in enumerate(self.quantizers):
            if not self.training and i >= int(depth[0]):
                break
            z_q_i, commit_i, cb_i, codes_i, _ = quantizer(residual)
            mask = (i < depth).to(z.dtype)  # [B]: this codebook is active for the item
            z_q = z_q + z_q_i * mask[:, None, None]
            residual = residual - z_q_i
            commitment = commitment + (commit_i * mask).mean()
            codebook = codebook + (cb_i * mask).mean()
            codes.append(codes_i)
            if i == 0:
                first = z_q_i
        code_tensor = (
            torch.stack(codes, dim=1) if codes else z.new_zeros((batch, 0, z.shape[-1]), dtype=torch.long)
        )
        return QuantizedResult(z_q, code_tensor.long(), commitment, codebook, depth, first)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] (k <= n) -> quantized latent [B, D, F], DAC's `from_codes` path."""
        z_q = 0.0
        for i in range(codes.shape[1]):
            z_q = z_q + self.quantizers[i].out_proj(self.quantizers[i].decode_code(codes[:, i]))
        return z_q
