"""SpeechTokenizer (Fudan, pip `speechtokenizer`): `speechtokenizer` (the `speechtokenizer_hubert_avg` release).

16 kHz, 50 Hz (hop 320), 8 x 1024 RVQ. RVQ-1 is distilled from HuBERT (the average over its layers) during
training, the closest published relative of HybridCodec's semantic RVQ-1; HuBERT does not run at inference.
Depth k = the first k codebooks (500 b/s each, 4 kbps at 8). Not causal: the encoder has a bidirectional LSTM.

We encode once with the package's `encode(x)` (codes `[n_q, B, F]`, transposed to `[B, n_q, F]`) and decode a
prefix with its `decode(codes[:k])`; `encode(x, n_q=k)` gives exactly our first k codebooks (tested).

Weights: the release folder (`config.json` + `SpeechTokenizer.pt`, a plain state dict) from `--weights DIR` or the
cache filled by `hybridbench weights fetch speechtokenizer` (hf://fnlp/SpeechTokenizer). The model is built from
the folder's config.json and the state dict is read with torch.load(weights_only=True) and loaded strictly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs import _support
from hybridbench.codecs.base import Codec, CodecInfo, WeightsStatus
from hybridbench.errors import HybridbenchError

PIP = "speechtokenizer beartype"
SUBFOLDER = "speechtokenizer_hubert_avg"
# The architecture of the released model: SpeechTokenizer's config/spt_base_cfg.json (model keys only).
RELEASE_CONFIG: dict[str, Any] = {
    "n_filters": 64,
    "strides": [8, 5, 4, 2],
    "dimension": 1024,
    "semantic_dimension": 768,
    "bidirectional": True,
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "lstm_layers": 2,
    "activation": "ELU",
    "codebook_size": 1024,
    "n_q": 8,
    "sample_rate": 16000,
}


def build_model(config: dict[str, Any] | None = None) -> torch.nn.Module:
    """A random-weight SpeechTokenizer from a config dict (default: the released architecture)."""
    from speechtokenizer import SpeechTokenizer as Model

    return Model(config or RELEASE_CONFIG)


class SpeechTokenizer(Codec):
    name = "speechtokenizer"
    sample_rate = 16000
    frame_rate = 50.0  # 16000 / (8*5*4*2)
    codebook_sizes = (1024,) * 8
    causal = False
    needs_ssl_at_inference = False
    weights_license = "Apache-2.0 (speechtokenizer code license; the hub card is not readable offline)"
    source = "pip speechtokenizer 1.0.1; weights hf://fnlp/SpeechTokenizer/speechtokenizer_hubert_avg"
    description = "SpeechTokenizer: HuBERT-distilled RVQ-1 + 7 acoustic, 8 x 1024 at 50 Hz (4 kbps)"
    parameters: ClassVar[int] = 103_675_586  # build_model() of the release config, checked by a test

    def __init__(
        self, model: torch.nn.Module, *, device: str | torch.device = "cpu", weights_sha256: str | None = None
    ):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()
        self.weights_sha256 = weights_sha256
        found = (model.sample_rate, int(model.downsample_rate), model.n_q, model.quantizer.bins)
        wanted = (self.sample_rate, 320, len(self.codebook_sizes), self.codebook_sizes[0])
        if found != wanted:
            raise HybridbenchError(
                f"{self.name}: the checkpoint's (sample rate, hop, codebooks, size) = {found}, expected {wanted}",
                "pass the speechtokenizer_hubert_avg release",
            )

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        extra = {
            "semantic_codebooks": 1,
            "semantic_teacher": "HuBERT base, average of layers (training only)",
        }
        return CodecInfo(**{**info.__dict__, "parameters": cls.parameters, "extra": extra})

    @classmethod
    def _folder(cls, weights: str | None) -> str | None:
        # Accept the release folder itself or the hub repository root that contains it.
        if weights is not None and (Path(weights) / SUBFOLDER).is_dir():
            return str(Path(weights) / SUBFOLDER)
        return weights

    @classmethod
    def _override(cls, weights: str | None) -> str | None:
        # The table's file names carry the sub-folder; a release folder passed by hand is its own root.
        folder = cls._folder(weights)
        if folder is not None and Path(folder).name == SUBFOLDER:
            return str(Path(folder).parent)
        return folder

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        if not _support.installed("beartype"):  # speechtokenizer cannot import without it
            return WeightsStatus(False, None, f"pip install {PIP}")
        return _support.weights_status(cls.name, "speechtokenizer", PIP, cls._override(weights))

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> SpeechTokenizer:
        _support.require("beartype", PIP, cls.name)  # speechtokenizer imports it without declaring it
        _support.require("speechtokenizer", PIP, cls.name)
        located = W.locate(cls.name, cls._override(weights), codec=cls.name)
        folder = located.folder / SUBFOLDER
        config = json.loads((folder / "config.json").read_text())
        model = build_model(config)
        model.load_state_dict(W.load_state_dict(folder / "SpeechTokenizer.pt"), strict=True)
        return cls(model, device=device, weights_sha256=located.sha256)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] at 16 kHz -> codes [B, 8, ceil(T / 320)] int64 (row 0 = the HuBERT-distilled RVQ-1)."""
        self.check_input(wav)
        codes = self.model.encode(wav.to(self.device))  # [n_q, B, F]
        return codes.transpose(0, 1).to(torch.int64)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * 320]."""
        return self.model.decode(codes.to(self.device).transpose(0, 1))
