"""Multi-period (MPD) + multi-scale complex-STFT discriminators.

The layouts are DAC's (`dac.model.discriminator.MPD` / `MRD`, reusing its `WNConv2d` = weight-normalised Conv2d
+ LeakyReLU(0.1)), with a `width` factor: width 1.0 gives DAC's channels, smaller widths give the light
discriminators the CPU presets need (DAC's full MPD alone is ~40M parameters). The STFT discriminator is
EnCodec's multi-scale STFT layout on (real, imag) spectrograms without DAC's band split, computed with
torch.stft directly instead of audiotools' AudioSignal (which costs seconds per step on a CPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from dac.model.discriminator import WNConv2d
from torch import nn

FeatureMaps = list[torch.Tensor]  # one discriminator's feature maps; the last is its logits


def _ch(base: int, width: float) -> int:
    return max(4, int(round(base * width)))


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN/DAC MPD for one period: fold [B, 1, T] into [B, 1, T/p, p], 2-D convs along time."""

    def __init__(self, *, period: int, width: float = 1.0):
        super().__init__()
        self.period = period
        chans = [1] + [_ch(c, width) for c in (32, 128, 512, 1024, 1024)]
        self.convs = nn.ModuleList(
            WNConv2d(chans[i], chans[i + 1], (5, 1), (3, 1) if i < 4 else 1, padding=(2, 0)) for i in range(5)
        )
        self.conv_post = WNConv2d(chans[-1], 1, kernel_size=(3, 1), padding=(1, 0), act=False)

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        x = F.pad(x, (0, -x.shape[-1] % self.period), mode="reflect")
        x = x.reshape(x.shape[0], 1, -1, self.period)
        fmap = []
        for layer in self.convs:
            x = layer(x)
            fmap.append(x)
        fmap.append(self.conv_post(x))
        return fmap


class STFTDiscriminator(nn.Module):
    """One scale of the complex-STFT discriminator: [B, 1, T] -> (real, imag) [B, 2, frames, bins] -> convs."""

    def __init__(self, *, n_fft: int, width: float = 1.0):
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        ch = _ch(32, width)
        self.convs = nn.ModuleList(
            [
                WNConv2d(2, ch, (3, 9), (1, 1), padding=(1, 4)),
                WNConv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4)),
                WNConv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4)),
                WNConv2d(ch, ch, (3, 9), (1, 2), padding=(1, 4)),
                WNConv2d(ch, ch, (3, 3), (1, 1), padding=(1, 1)),
            ]
        )
        self.conv_post = WNConv2d(ch, 1, (3, 3), (1, 1), padding=(1, 1), act=False)

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        spec = torch.stft(
            x.squeeze(1).float(),
            self.n_fft,
            hop_length=self.n_fft // 4,
            window=self.window,
            return_complex=True,
        )  # [B, bins, frames]
        x = torch.view_as_real(spec).permute(0, 3, 2, 1)  # [B, 2, frames, bins]
        fmap = []
        for layer in self.convs:
            x = layer(x)
            fmap.append(x)
        fmap.append(self.conv_post(x))
        return fmap


class Discriminator(nn.Module):
    """All discriminators; input is DC-removed and peak-normalised first, as DAC's `Discriminator` does."""

    def __init__(self, *, periods: tuple[int, ...], fft_sizes: tuple[int, ...], width: float = 1.0):
        super().__init__()
        self.discriminators = nn.ModuleList(
            [PeriodDiscriminator(period=p, width=width) for p in periods]
            + [STFTDiscriminator(n_fft=n, width=width) for n in fft_sizes]
        )

    def forward(self, wav: torch.Tensor) -> list[FeatureMaps]:
        """wav [B, 1, T] -> one list of feature maps per discriminator."""
        wav = wav - wav.mean(dim=-1, keepdim=True)
        wav = 0.8 * wav / (wav.abs().amax(dim=-1, keepdim=True) + 1e-9)
        return [d(wav) for d in self.discriminators]
