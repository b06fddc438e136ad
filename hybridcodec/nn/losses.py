"""Reconstruction, adversarial and distillation losses.

`MultiScaleMelLoss` is DAC's `dac.nn.loss.MelSpectrogramLoss` formulation (per scale: L1 between
log10(clamp(mel, 1e-5)) plus `mag_weight` x L1 between mels; window/4 hop; DAC's 7 scales 32..2048 with
5..320 bins) on torchaudio mel filterbanks held as buffers: DAC's own class rebuilds an audiotools AudioSignal
and its filters each call (about 1 s per CPU step at 16 kHz). The GAN losses are DAC's `GANLoss` (least
squares, feature matching = L1 between real and fake feature maps, all but the logits), taking feature maps
so that one discriminator forward serves both the real and the fake batch (one forward per backward, as DDP
requires).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from hybridcodec.nn.discriminators import FeatureMaps


class MultiScaleMelLoss(nn.Module):
    """Sum over scales (as DAC) of L1(log10 mel) + mag_weight * L1(mel) between [B, 1, T] signals, computed in fp32."""

    def __init__(
        self,
        *,
        sample_rate: int,
        windows: tuple[int, ...],
        n_mels: tuple[int, ...],
        mag_weight: float = 0.0,
        clamp_eps: float = 1e-5,
    ):
        super().__init__()
        self.mag_weight = mag_weight
        self.clamp_eps = clamp_eps
        self.mels = nn.ModuleList(
            torchaudio.transforms.MelSpectrogram(
                sample_rate=sample_rate,
                n_fft=w,
                win_length=w,
                hop_length=w // 4,
                n_mels=m,
                power=1.0,
                center=True,
                norm="slaney",
                mel_scale="slaney",
            )  # fmt: skip
            for w, m in zip(windows, n_mels, strict=True)
        )

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        fake, real = fake.float().squeeze(1), real.float().squeeze(1)
        loss = fake.new_zeros(())
        with torch.autocast(device_type=fake.device.type, enabled=False):
            for mel in self.mels:
                x, y = mel(fake), mel(real)
                loss = loss + F.l1_loss(
                    x.clamp(min=self.clamp_eps).log10(), y.clamp(min=self.clamp_eps).log10()
                )
                if self.mag_weight:
                    loss = loss + self.mag_weight * F.l1_loss(x, y)
        return loss


def split_real_fake(fmaps: list[FeatureMaps], batch: int) -> tuple[list[FeatureMaps], list[FeatureMaps]]:
    """Feature maps of a discriminator run on cat([fake, real]) -> (fake maps, real maps)."""
    fake = [[f[:batch] for f in maps] for maps in fmaps]
    real = [[f[batch:] for f in maps] for maps in fmaps]
    return fake, real


def discriminator_loss(fake: list[FeatureMaps], real: list[FeatureMaps]) -> torch.Tensor:
    """LSGAN: real logits -> 1, fake logits -> 0 (DAC's GANLoss.discriminator_loss)."""
    loss = fake[0][-1].new_zeros(())
    for f, r in zip(fake, real, strict=True):
        loss = loss + torch.mean(f[-1].float() ** 2) + torch.mean((1 - r[-1].float()) ** 2)
    return loss


def generator_losses(fake: list[FeatureMaps], real: list[FeatureMaps]) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial, feature matching) for the generator (DAC's GANLoss.generator_loss)."""
    adv = fake[0][-1].new_zeros(())
    fm = fake[0][-1].new_zeros(())
    for f, r in zip(fake, real, strict=True):
        adv = adv + torch.mean((1 - f[-1].float()) ** 2)
        for ff, rr in zip(f[:-1], r[:-1], strict=True):
            fm = fm + F.l1_loss(ff.float(), rr.detach().float())
    return adv, fm


DISTILLATION_FORMS = ("mse", "d-axis", "cosine")


def distillation_loss(pred: torch.Tensor, target: torch.Tensor, form: str = "mse") -> torch.Tensor:
    """The semantic decoder's output against the teacher's target, both [B, D, F].

    - mse: mean squared error (DualCodec, on standardised features);
    - d-axis: SpeechTokenizer's "D-axis" loss: for each feature dimension, the cosine similarity over time
      between prediction and target, loss = -mean(log sigmoid(cos));
    - cosine: 1 - the cosine similarity over dimensions, per frame, averaged.
    """
    pred, target = pred.float(), target.float()
    if form == "mse":
        return F.mse_loss(pred, target)
    if form == "d-axis":
        return -F.logsigmoid(F.cosine_similarity(pred, target, dim=-1)).mean()
    if form == "cosine":
        return (1 - F.cosine_similarity(pred, target, dim=1)).mean()
    raise ValueError(f"unknown distillation form {form!r}; choose one of {', '.join(DISTILLATION_FORMS)}")


def explained_variance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """R2 of `pred` for `target`, both [B, D, F]: 1 - residual over total sum of squares, the total taken about
    each dimension's mean over the batch, summed over dimensions (a standardised target weighs them equally)."""
    pred, target = pred.float(), target.float()
    total = ((target - target.mean(dim=(0, 2), keepdim=True)) ** 2).sum()
    return 1 - ((pred - target) ** 2).sum() / total.clamp(min=1e-12)
