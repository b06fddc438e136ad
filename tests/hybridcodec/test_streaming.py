"""Streaming (hybridcodec.streaming): chunked codes equal offline codes, chunked audio equals offline audio.

Tolerance: streaming runs the same convolutions over shorter spans, so the audio differs from the offline decode
by float rounding only; fp32, atol 1e-5 (observed <= 3e-7 on outputs in [-1, 1]). Codes must be identical.
"""

from __future__ import annotations

import pytest
import torch

from hybridcodec.adapter import ADAPTERS
from hybridcodec.config import preset
from hybridcodec.errors import HybridcodecError
from hybridcodec.model import HybridCodec
from hybridcodec.streaming import StreamingDecoder, StreamingEncoder, algorithmic_latency_s

ATOL = 1e-5


def build(name: str, variant: str) -> HybridCodec:
    torch.manual_seed(0)
    return HybridCodec(config=preset(name, variant=variant).model).eval()


def split(x: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """x [..., T] cut along the last axis into pieces of `sizes`, cycled until T is used up."""
    pieces, pos, i = [], 0, 0
    while pos < x.shape[-1]:
        pieces.append(x[..., pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    return pieces


def stream_encode(model: HybridCodec, wav: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    encoder = StreamingEncoder(model)
    return torch.cat([*map(encoder.push, split(wav, sizes)), encoder.flush()], dim=-1)


def stream_decode(model: HybridCodec, codes: torch.Tensor, frames: list[int], depth: int) -> torch.Tensor:
    decoder = StreamingDecoder(model, depth)
    return torch.cat([decoder.push(c) for c in split(codes, frames)], dim=-1)


HOP = 640  # tiny and mini: 16 kHz at 25 Hz
# 1 frame, 3 frames, and uneven splits that cut frames (and strided steps) anywhere.
CHUNKS = {"1 frame": [HOP], "3 frames": [3 * HOP], "uneven": [1, 999, 17, 5 * HOP + 3, 333]}


@pytest.mark.parametrize("chunk", list(CHUNKS))
@pytest.mark.parametrize("variant", ["hybrid", "dac", "dac-distill"])
def test_streaming_codes_equal_offline_codes(variant: str, chunk: str):
    model = build("tiny", variant)
    wav = torch.randn(2, 1, HOP * 12 + 123) * 0.1  # a partial last frame: flush pads it as encode does
    offline = model.encode(wav)
    assert offline.shape[-1] == 13
    assert torch.equal(stream_encode(model, wav, CHUNKS[chunk]), offline)


@pytest.mark.parametrize("frames", [[1], [3], [2, 1, 5]])
@pytest.mark.parametrize("variant", ["hybrid", "dac"])
def test_streaming_audio_equals_offline_audio(variant: str, frames: list[int]):
    model = build("tiny", variant)
    codes = model.encode(torch.randn(2, 1, HOP * 12) * 0.1)
    for depth in (1, model.config.num_codebooks):
        offline = model.decode(codes[:, :depth])
        streamed = stream_decode(model, codes, frames, depth)
        assert streamed.shape == offline.shape
        torch.testing.assert_close(streamed, offline, atol=ATOL, rtol=0)


def test_mini_streams_encode_and_decode_like_offline():
    """The `mini` preset (random weights): deeper ConvNeXt streams, wider layers, 12 codebooks."""
    model = build("mini", "hybrid")
    wav = torch.randn(1, 1, HOP * 10 + 7) * 0.1
    offline = model.encode(wav)
    assert torch.equal(stream_encode(model, wav, [HOP]), offline)
    assert torch.equal(stream_encode(model, wav, [HOP + 1, 2 * HOP - 5]), offline)
    for depth in (1, 12):
        torch.testing.assert_close(
            stream_decode(model, offline, [1], depth), model.decode(offline[:, :depth]), atol=ATOL, rtol=0
        )


def test_no_look_ahead_each_frame_comes_out_with_its_last_sample():
    model = build("tiny", "hybrid")
    encoder, decoder = StreamingEncoder(model), StreamingDecoder(model)
    wav = torch.randn(1, 1, HOP * 3) * 0.1
    assert encoder.push(wav[..., : HOP - 1]).shape[-1] == 0
    assert encoder.push(wav[..., HOP - 1 : HOP]).shape[-1] == 1  # the frame's last sample completes it
    codes = encoder.push(wav[..., HOP:])
    assert codes.shape == (1, model.config.num_codebooks, 2)
    assert encoder.flush().shape[-1] == 0  # nothing partial left
    assert decoder.push(codes[..., :1]).shape == (1, 1, HOP)  # one frame of codes, one frame of audio
    assert decoder.push(codes[..., :0]).shape == (1, 1, 0)
    assert algorithmic_latency_s(model) == pytest.approx(0.040)
    assert algorithmic_latency_s(model, chunk_frames=4) == pytest.approx(0.160)


def test_flush_starts_a_new_stream():
    model = build("tiny", "dac")
    wav = torch.randn(1, 1, HOP * 4 + 10) * 0.1
    encoder = StreamingEncoder(model)
    first = torch.cat([encoder.push(wav), encoder.flush()], dim=-1)
    second = torch.cat([encoder.push(wav), encoder.flush()], dim=-1)
    assert torch.equal(first, second) and torch.equal(first, model.encode(wav))


def test_dualcodec_is_refused():
    model = build("tiny", "dualcodec")
    with pytest.raises(HybridcodecError, match="cannot stream"):
        StreamingEncoder(model)
    with pytest.raises(HybridcodecError, match="cannot stream"):
        StreamingDecoder(model)


def test_bad_inputs_are_refused():
    model = build("tiny", "hybrid")
    with pytest.raises(HybridcodecError, match="depth"):
        StreamingDecoder(model, depth=0)
    with pytest.raises(HybridcodecError, match="mono"):
        StreamingEncoder(model).push(torch.zeros(1, 2, HOP))
    with pytest.raises(HybridcodecError, match="k >= depth"):
        StreamingDecoder(model, depth=3).push(torch.zeros(1, 2, 1, dtype=torch.long))


def test_the_causal_adapters_declare_streaming():
    streams = {cls.variant: cls.streamable for cls in ADAPTERS}
    assert streams == {"hybrid": True, "dac": True, "dac-distill": True, "dualcodec": False}
    assert all(cls.causal for cls in ADAPTERS if cls.streamable)
