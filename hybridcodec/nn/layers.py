"""Causal versions of DAC's encoder and decoder.

Reused from descript-audio-codec (`dac.nn.layers`): `WNConv1d`, `WNConvTranspose1d` (weight-normalised convs)
and `Snake1d` (the periodic activation). DAC's own `ResidualUnit`/`EncoderBlock`/`DecoderBlock` pad
symmetrically (non-causal), and HybridCodec's encoder is causal, so only the padding is rewritten here: every
convolution pads on the left, and transposed convolutions trim on the right, so output sample t never depends
on input later than t. The channel layout (double per downsampling block, halve per upsampling block, three
residual units with dilations 1, 3, 9) is DAC's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from dac.nn.layers import Snake1d, WNConv1d, WNConvTranspose1d
from torch import nn


class CausalConv1d(nn.Module):
    """Weight-normalised Conv1d with (kernel - stride) zeros on the left: T samples in, T / stride out."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel_size: int, stride: int = 1, dilation: int = 1
    ):
        super().__init__()
        self.conv = WNConv1d(
            in_channels, out_channels, kernel_size=kernel_size, stride=stride, dilation=dilation
        )
        self.left_pad = dilation * (kernel_size - 1) + 1 - stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, T] -> [B, C_out, T // stride]."""
        return self.conv(F.pad(x, (self.left_pad, 0)))


class CausalConvTranspose1d(nn.Module):
    """Weight-normalised transposed conv that drops its (kernel - stride) look-ahead samples on the right."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int):
        super().__init__()
        self.conv = WNConvTranspose1d(in_channels, out_channels, kernel_size=2 * stride, stride=stride)
        self.trim = stride  # kernel 2*stride yields (F + 1) * stride samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, F] -> [B, C_out, F * stride]."""
        return self.conv(x)[..., : -self.trim]


class ResidualUnit(nn.Module):
    """DAC's residual unit (Snake, dilated k=7 conv, Snake, 1x1 conv, skip) with causal padding."""

    def __init__(self, *, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            CausalConv1d(dim, dim, kernel_size=7, dilation=dilation),
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Encoder(nn.Module):
    """Waveform [B, 1, T] -> latent [B, latent_dim, T / prod(rates)], causal."""

    def __init__(self, *, dim: int, rates: tuple[int, ...], latent_dim: int):
        super().__init__()
        layers: list[nn.Module] = [CausalConv1d(1, dim, kernel_size=7)]
        for stride in rates:
            layers += [
                ResidualUnit(dim=dim, dilation=1),
                ResidualUnit(dim=dim, dilation=3),
                ResidualUnit(dim=dim, dilation=9),
                Snake1d(dim),
                CausalConv1d(dim, 2 * dim, kernel_size=2 * stride, stride=stride),
            ]
            dim *= 2
        layers += [Snake1d(dim), CausalConv1d(dim, latent_dim, kernel_size=3)]
        self.block = nn.Sequential(*layers)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.block(wav)


class Decoder(nn.Module):
    """Latent [B, latent_dim, F] -> waveform [B, 1, F * prod(rates)] in [-1, 1], causal."""

    def __init__(self, *, latent_dim: int, dim: int, rates: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = [CausalConv1d(latent_dim, dim, kernel_size=7)]
        for stride in rates:
            layers += [
                Snake1d(dim),
                CausalConvTranspose1d(dim, dim // 2, stride=stride),
                ResidualUnit(dim=dim // 2, dilation=1),
                ResidualUnit(dim=dim // 2, dilation=3),
                ResidualUnit(dim=dim // 2, dilation=9),
            ]
            dim //= 2
        layers += [Snake1d(dim), CausalConv1d(dim, 1, kernel_size=7), nn.Tanh()]
        self.block = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.block(z)
