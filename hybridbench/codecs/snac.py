"""SNAC, the multi-scale neural audio codec (pip `snac`): `snac-24khz` (speech), `snac-32khz`, `snac-44khz` (music).

SNAC quantizes with one 4096-entry codebook per *scale*, each scale at its own rate: the 24 kHz model has 3 scales
at 11.7, 23.4 and 46.9 Hz (vq_strides 4, 2, 1 over a 46.875 Hz latent); the 32/44 kHz models have 4 scales
(strides 8, 4, 2, 1). The package returns a list of `[B, F * n_i]` tensors of different lengths.

Layout of our codes `[B, Q, F]`: F counts frames of the *coarsest* scale, and each coarse frame carries every code
that falls inside it, coarse to fine. For the 24 kHz model Q = 7:
    row 0       scale 0 (1 code per coarse frame)
    rows 1-2    scale 1, sub-frames 0 and 1        (codes[:, 1 + j, t] = scale1[:, 2 t + j])
    rows 3-6    scale 2, sub-frames 0..3           (codes[:, 3 + j, t] = scale2[:, 4 t + j])
So `frame_rate` is the coarse rate and bitrate = frame_rate * 12 bits * rows is exact (0.98 kbps at Q = 7 for
the 24 kHz model, 1.9 and 2.6 kbps for the 32/44 kHz models, the published figures).

Depth k = the first k rows, and only whole scales decode: depth 1 (scale 0), 3 (scales 0-1), 7 (scales 0-2)
for the 24 kHz model, plus 15 for the 4-scale models (`valid_depths`); other depths raise a clear error. Decoding
the first n scales sums those scales' dequantized latents, as SNAC's own `quantizer.from_codes` does for all of
them (a test checks it against `from_codes` restricted to n scales). Not causal (symmetric convolutions).

SNAC's decoder injects Gaussian noise at inference (its `NoiseBlock`s draw from the global RNG). So that a
benchmark is reproducible, every decode call here seeds that noise with `noise_seed` (0) inside
`torch.random.fork_rng`, leaving the caller's RNG untouched; SNAC's own `decode` after `torch.manual_seed(0)`
gives the identical waveform (tested). SNAC draws that noise for a whole batch at once ([B, 1, T]), which would
give each item of a batch other noise than it gets alone, so a batch is decoded item by item, each with its own
seeded draw: a batch decodes exactly as its items one by one.

Weights: the hub folder (`config.json` + `pytorch_model.bin`, a state dict) from `--weights DIR` or the cache
filled by `hybridbench weights fetch snac-24khz`; the model is built with `SNAC.from_config`, the state dict read
with torch.load(weights_only=True) and loaded strictly.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs import _support
from hybridbench.codecs.base import Codec, CodecInfo, DepthKind, WeightsStatus
from hybridbench.errors import HybridbenchError

PIP = "snac"


def pack(scales: list[torch.Tensor]) -> torch.Tensor:
    """SNAC's per-scale codes [B, F * n_i] (n_i = 1, 2, 4, ...) -> codes [B, sum n_i, F], coarse to fine."""
    frames = scales[0].shape[-1]
    rows = []
    for codes in scales:
        n = codes.shape[-1] // frames
        rows.append(codes.reshape(codes.shape[0], frames, n).transpose(1, 2))  # [B, n, F]
    return torch.cat(rows, dim=1)


def unpack(codes: torch.Tensor, scale_rows: tuple[int, ...]) -> list[torch.Tensor]:
    """codes [B, sum n_i, F] -> per-scale codes [B, F * n_i] for the scales whose rows are all present."""
    out, start = [], 0
    for n in scale_rows:
        if start + n > codes.shape[1]:
            break
        block = codes[:, start : start + n]  # [B, n, F]
        out.append(block.transpose(1, 2).reshape(codes.shape[0], -1))
        start += n
    return out


class _Snac(Codec):
    hub_config: ClassVar[dict]
    scale_rows: ClassVar[tuple[int, ...]]  # codes per coarse frame at each scale: vq_strides[0] / stride
    parameters: ClassVar[int]
    codebook_size: ClassVar[int] = 4096
    noise_seed: ClassVar[int] = 0
    causal = False
    depth_kind = DepthKind.MULTI_SCALE
    needs_ssl_at_inference = False
    weights_license = "MIT (snac package LICENSE; the hub card is not readable offline)"
    source = "pip snac 1.2.1 (hubertsiuzdak/snac)"

    def __init__(
        self, model: torch.nn.Module, *, device: str | torch.device = "cpu", weights_sha256: str | None = None
    ):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()
        self.weights_sha256 = weights_sha256
        strides = list(model.vq_strides)
        found = (model.sampling_rate, int(model.hop_length), strides, model.codebook_size)
        hub = self.hub_config
        wanted = (
            hub["sampling_rate"],
            math.prod(hub["encoder_rates"]),
            hub["vq_strides"],
            hub["codebook_size"],
        )
        if found != wanted:
            raise HybridbenchError(
                f"{self.name}: the checkpoint's (sample rate, hop, vq strides, codebook size) = {found}, "
                f"expected {wanted}",
                f"pass the {self.name} checkpoint",
            )

    @classmethod
    def valid_depths(cls) -> tuple[int, ...]:
        """Depths that decode: whole scales only (1, 3, 7, 15 ...)."""
        return tuple(sum(cls.scale_rows[: i + 1]) for i in range(len(cls.scale_rows)))

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        extra = {
            "scale_rates_hz": [cls.frame_rate * n for n in cls.scale_rows],
            "layout": "rows = codes of each coarse frame, scale by scale, coarse to fine; see hybridbench.codecs.snac",
            "decoder_noise": f"seeded with {cls.noise_seed} per decode call",
        }
        return CodecInfo(**{**info.__dict__, "parameters": cls.parameters, "extra": extra})

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        return _support.weights_status(cls.name, "snac", PIP, weights)

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> _Snac:
        snac = _support.require("snac", PIP, cls.name)
        located = W.locate(cls.name, weights, codec=cls.name)
        model = snac.SNAC.from_config(str(located.folder / "config.json"))
        model.load_state_dict(W.load_state_dict(located.folder / "pytorch_model.bin"), strict=True)
        return cls(model, device=device, weights_sha256=located.sha256)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> codes [B, Q, F] int64, F = coarse frames after SNAC pads T to whole coarse frames."""
        self.check_input(wav)
        return pack(self.model.encode(wav.to(self.device))).to(torch.int64)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] with k in `valid_depths()` -> wav [B, 1, F * samples per coarse frame]."""
        k = codes.shape[1]
        if k not in self.valid_depths():
            raise HybridbenchError(
                f"{self.name} decodes whole scales only; depth {k} splits a scale",
                f"choose a depth from {', '.join(map(str, self.valid_depths()))}",
            )
        scales = unpack(codes.to(self.device), self.scale_rows)
        quantizers = self.model.quantizer.quantizers
        z_q = 0.0
        for q, scale_codes in zip(quantizers, scales, strict=False):  # SNAC's from_codes, first n scales only
            z_q = z_q + q.out_proj(q.decode_code(scale_codes)).repeat_interleave(q.stride, dim=-1)
        # One item per decoder call: the noise of a batch call would depend on the batch (module docstring).
        return torch.cat([self._seeded_decoder(z_q[b : b + 1]) for b in range(z_q.shape[0])])

    def _seeded_decoder(self, z_q: torch.Tensor) -> torch.Tensor:
        """SNAC's decoder with its noise seeded by `noise_seed`, leaving the caller's RNG untouched."""
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.noise_seed)  # SNAC's decoder noise, reproducible
            return self.model.decoder(z_q)


def _hub_config(
    sampling_rate: int,
    encoder_dim: int,
    rates: list[int],
    decoder_dim: int,
    attn: int | None,
    strides: list[int],
) -> dict:
    return {
        "sampling_rate": sampling_rate,
        "encoder_dim": encoder_dim,
        "encoder_rates": rates,
        "decoder_dim": decoder_dim,
        "decoder_rates": rates[::-1],
        "attn_window_size": attn,
        "codebook_size": 4096,
        "codebook_dim": 8,
        "vq_strides": strides,
        "noise": True,
        "depthwise": True,
    }


# The released configurations. They are not in the package; these reproduce the README's table exactly
# (19.8 M / 54.5 M parameters; 0.98 / 1.9 / 2.6 kbps), which a test checks.
class Snac24kHz(_Snac):
    name = "snac-24khz"
    hub_config = _hub_config(24000, 48, [2, 4, 8, 8], 1024, None, [4, 2, 1])
    sample_rate = 24000
    frame_rate = 24000 / 512 / 4  # 11.71875 Hz coarse frames
    scale_rows = (1, 2, 4)
    codebook_sizes = (4096,) * 7
    parameters = 19_842_914
    description = "SNAC 24 kHz (speech), 3 scales at 12/23/47 Hz x 4096 (0.98 kbps)"


class Snac32kHz(_Snac):
    name = "snac-32khz"
    hub_config = _hub_config(32000, 64, [2, 3, 8, 8], 1536, 32, [8, 4, 2, 1])
    sample_rate = 32000
    frame_rate = 32000 / 384 / 8  # 10.42 Hz coarse frames
    scale_rows = (1, 2, 4, 8)
    codebook_sizes = (4096,) * 15
    parameters = 54_546_338
    description = "SNAC 32 kHz (music/sound), 4 scales at 10/21/42/83 Hz x 4096 (1.9 kbps)"


class Snac44kHz(_Snac):
    name = "snac-44khz"
    hub_config = _hub_config(44100, 64, [2, 3, 8, 8], 1536, 32, [8, 4, 2, 1])
    sample_rate = 44100
    frame_rate = 44100 / 384 / 8  # 14.36 Hz coarse frames
    scale_rows = (1, 2, 4, 8)
    codebook_sizes = (4096,) * 15
    parameters = 54_546_338
    description = "SNAC 44.1 kHz (music/sound), 4 scales at 14/29/57/115 Hz x 4096 (2.6 kbps)"
