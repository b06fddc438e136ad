from __future__ import annotations

import torch

from hybridbench.codecs import CODECS


def test_identity_round_trip_is_16_bit_exact():
    codec = CODECS.get("identity").load()
    wav = torch.linspace(-1, 1, 16001).reshape(1, 1, -1)
    codes = codec.encode(wav)
    assert codes.shape == (1, 1, 16001) and codes.min() >= 0 and codes.max() < 65536
    out = codec.decode(codes)
    assert torch.max(torch.abs(out - wav)) <= 0.5 / 32767 + 1e-7
    assert codec.bitrate(1) == 256_000
