"""The reference row: audio in, the same audio out.

Its "codes" are the 16-bit PCM samples themselves (one codebook of 65536 entries at the sample rate), so it
honestly reports the bitrate of uncompressed 16 kHz / 16-bit audio (256 kbit/s), and its WER is the ASR's own
error on the original audio: the floor every codec is measured against.
"""

from __future__ import annotations

import torch

from hybridbench.codecs.base import Codec

_HALF = 32768


class IdentityCodec(Codec):
    name = "identity"
    sample_rate = 16000
    frame_rate = 16000.0
    codebook_sizes = (65536,)
    causal = True
    batch_exact = True  # each sample is its own code: padding changes no item's codes
    streamable = True
    weights_license = "n/a (no weights)"
    description = "reference: the original audio as 16-bit PCM (the ASR floor)"

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> IdentityCodec:
        return cls(device=device)

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        self.check_input(wav)
        pcm = torch.round(wav.clamp(-1.0, 1.0) * (_HALF - 1)).to(torch.int64)
        return pcm + _HALF  # codes in [1, 65535]: non-negative like every codebook index

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return ((codes - _HALF).to(torch.float32) / (_HALF - 1)).to(self.device)
