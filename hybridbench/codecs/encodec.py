"""EnCodec 24 kHz (Meta, pip `encodec`): `encodec-24khz`.

A causal SEANet encoder/decoder at 75 Hz (hop 320) with a 32 x 1024 RVQ. Depth k = the first k codebooks
(750 b/s each); EnCodec's published bandwidths 1.5/3/6/12/24 kbps are depths 2/4/8/16/32, and its own
`set_target_bandwidth(bw)` + `encode` + `decode` path gives exactly our depth-k codes and audio (a test checks
every published bandwidth). We encode once at 24 kbps and decode any prefix through `decode([(codes, None)])`,
the package's own frame decoder (the 24 kHz model has no normalization scale and no segmenting).

Weights: EnCodec's own state-dict file `encodec_24khz-d7cc33bc.th`, read with torch.load(weights_only=True) and
loaded strictly into `EncodecModel.encodec_model_24khz(pretrained=False)`; from `--weights PATH` (the file or its
folder) or the cache filled by `hybridbench weights fetch encodec-24khz` (sha256 prefix d7cc33bc verified).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs import _support
from hybridbench.codecs.base import Codec, CodecInfo, WeightsStatus

PIP = "encodec"
CHECKPOINT_FILE = "encodec_24khz-d7cc33bc.th"


def build_model() -> torch.nn.Module:
    """The 24 kHz EnCodec architecture, random weights, from the package's own factory."""
    from encodec import EncodecModel

    return EncodecModel.encodec_model_24khz(pretrained=False)


class Encodec24kHz(Codec):
    name = "encodec-24khz"
    sample_rate = 24000
    frame_rate = 75.0  # 24000 / 320
    codebook_sizes = (1024,) * 32
    causal = True
    # Causal, yet not batch-exact: its convolutions reflect-pad an input to whole frames, so an item's last
    # partial frame sees its own samples mirrored alone but the batch's zeros when padded (measured: the last
    # latent frame moves by ~1e-4, the others by ~1e-8). Batched only by equal length (codecs/batching.py).
    batch_exact = False
    needs_ssl_at_inference = False
    weights_license = "CC-BY-NC-4.0 (encodec package license, covering code and weights)"
    source = "pip encodec (facebookresearch/encodec); weights dl.fbaipublicfiles.com/encodec/v0"
    description = "EnCodec 24 kHz, 32 x 1024 RVQ at 75 Hz (1.5-24 kbps = depths 2-32)"
    parameters: ClassVar[int] = 14_851_810  # encodec_model_24khz(pretrained=False), checked by a test
    published_bandwidths: ClassVar[dict[float, int]] = {1.5: 2, 3.0: 4, 6.0: 8, 12.0: 16, 24.0: 32}

    def __init__(
        self, model: torch.nn.Module, *, device: str | torch.device = "cpu", weights_sha256: str | None = None
    ):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()
        self.model.set_target_bandwidth(24.0)  # all 32 codebooks; depth k is the prefix
        self.weights_sha256 = weights_sha256

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        extra = {
            "published_bandwidths_kbps_to_depth": {str(k): v for k, v in cls.published_bandwidths.items()}
        }
        return CodecInfo(**{**info.__dict__, "parameters": cls.parameters, "extra": extra})

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        if weights is not None and Path(weights).is_dir() and (Path(weights) / CHECKPOINT_FILE).is_file():
            weights = str(Path(weights) / CHECKPOINT_FILE)
        return _support.weights_status(cls.name, "encodec", PIP, weights)

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> Encodec24kHz:
        _support.require("encodec", PIP, cls.name)
        if weights is not None and Path(weights).is_dir():
            weights = str(Path(weights) / CHECKPOINT_FILE)
        located = W.locate(cls.name, weights, codec=cls.name)
        model = build_model()
        model.load_state_dict(W.load_state_dict(W.main_file(located, cls.name)), strict=True)
        return cls(model, device=device, weights_sha256=located.sha256)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] at 24 kHz -> codes [B, 32, ceil(T / 320)] int64."""
        self.check_input(wav)
        frames = self.model.encode(wav.to(self.device))
        ((codes, _scale),) = frames  # one frame: the 24 kHz model does not segment
        return codes.to(torch.int64)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * 320]."""
        return self.model.decode([(codes.to(self.device), None)])
