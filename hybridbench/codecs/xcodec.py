"""X-Codec (HKUST, through transformers' `XcodecModel`): `xcodec-hubert-librispeech`.

16 kHz, 50 Hz (hop 320), 8 x 1024 RVQ over the concatenation of a DAC-style acoustic latent and HuBERT
features: the semantic model runs *at inference* (inside `encode`), like DualCodec and unlike Mimi or
SpeechTokenizer. Its published bandwidths 0.5/1/1.5/2/4 kbps are depths 1/2/3/4/8 (500 b/s per codebook).

We encode once with `encode(x, bandwidth=4.0)` (all 8 codebooks) and decode any prefix with the model's own
`decode(codes[:, :k])`; `encode(x, bandwidth=b)` at each published bandwidth gives exactly our first k codebooks
(tested). Not causal (HuBERT attends over the whole utterance).

Weights: a transformers folder (`config.json` + `model.safetensors`) from `--weights DIR` or the cache filled by
`hybridbench weights fetch xcodec-hubert-librispeech` (hf://hf-audio/xcodec-hubert-librispeech, the checkpoint
transformers documents), loaded with `XcodecModel.from_pretrained` (safetensors only). The checkpoint's config
decides the architecture; its sample rate, frame rate and codebooks are checked against the facts below.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from hybridbench.codecs._transformers import TransformersCodec
from hybridbench.codecs.base import CodecInfo


class XcodecHubertLibrispeech(TransformersCodec):
    name = "xcodec-hubert-librispeech"
    sample_rate = 16000
    frame_rate = 50.0
    codebook_sizes = (1024,) * 8
    causal = False
    needs_ssl_at_inference = True
    weights_license = (
        "not stated in transformers; see the model card at hf.co/hf-audio/xcodec-hubert-librispeech"
    )
    source = "transformers XcodecModel; weights hf://hf-audio/xcodec-hubert-librispeech"
    model_class = "XcodecModel"
    checkpoint = "hf-audio/xcodec-hubert-librispeech"
    sample_rate_field = "sample_rate"
    description = "X-Codec (HuBERT semantic + DAC acoustic), 8 x 1024 RVQ at 50 Hz (0.5-4 kbps = depths 1-8)"
    # XcodecModel(XcodecConfig()) (HuBERT base inside), checked by a test; the checkpoint's own config is used.
    parameters: ClassVar[int] = 160_698_625
    ssl_parameters: ClassVar[int] = 94_371_712
    published_bandwidths: ClassVar[dict[float, int]] = {0.5: 1, 1.0: 2, 1.5: 3, 2.0: 4, 4.0: 8}

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        extra = {
            "ssl_model": "HuBERT base (mean of all hidden states), runs inside encode",
            "ssl_parameters": cls.ssl_parameters,
            "published_bandwidths_kbps_to_depth": {str(k): v for k, v in cls.published_bandwidths.items()},
        }
        return CodecInfo(**{**info.__dict__, "parameters": cls.parameters, "extra": extra})

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] at 16 kHz -> codes [B, 8, F] int64 (HuBERT runs here)."""
        self.check_input(wav)
        out = self.model.encode(
            wav.to(self.device), bandwidth=max(self.published_bandwidths), return_dict=True
        )
        return out.audio_codes.to(torch.int64)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * 320]."""
        return self.model.decode(codes.to(self.device), return_dict=True).audio_values
