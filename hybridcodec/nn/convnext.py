"""Causal ConvNeXt stacks for the semantic and acoustic streams.

Reused from dualcodec (`dualcodec.model_codec.cnn.ConvNeXtBlock`, loaded by `dualcodec_layers`; Vocos' 1-D
ConvNeXt block: depthwise k=7 conv, LayerNorm, pointwise MLP with GELU, residual; `is_causal=True` pads 6 frames
on the left). Only the stack with optional 1x1 in/out projections is written here.
"""

from __future__ import annotations

import torch
from dac.nn.layers import WNConv1d
from torch import nn

from hybridcodec.nn.dualcodec_layers import ConvNeXtBlock


class ConvNeXtStack(nn.Module):
    """[B, in_dim, F] -> [B, out_dim, F]: optional 1x1 projection, `layers` causal ConvNeXt blocks, projection."""

    def __init__(self, *, in_dim: int, dim: int, intermediate_dim: int, layers: int, out_dim: int):
        super().__init__()
        self.proj_in = WNConv1d(in_dim, dim, kernel_size=1) if in_dim != dim else nn.Identity()
        self.blocks = nn.Sequential(
            *[
                ConvNeXtBlock(dim=dim, intermediate_dim=intermediate_dim, is_causal=True)
                for _ in range(layers)
            ]
        )
        self.proj_out = WNConv1d(dim, out_dim, kernel_size=1) if out_dim != dim else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_out(self.blocks(self.proj_in(x)))
