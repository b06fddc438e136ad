"""Classic codecs (Opus, AMR-NB, G.722) through PyAV: depths are bitrate operating points.

Real FFmpeg encoders on real synthesized speech: shapes, bitrates against the bitstreams the encoders
really write, which code rows a depth reads, quality rising with bitrate, alignment with the input, and one
run through the real runner.
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from hybridbench.audio import load_tensor, resample
from hybridbench.codecs import CODECS
from hybridbench.codecs import classic as C
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS

CLASSIC = ["opus", "amr-nb", "g722"]
NOMINAL_KBPS = {
    "opus": [6, 8, 12, 16, 24],
    "amr-nb": [4.75, 5.15, 5.9, 6.7, 7.4, 7.95, 10.2, 12.2],
    "g722": [48, 56, 64],
}


@pytest.fixture(scope="module")
def speech(synthetic_en_items):
    """Two synthetic-en items as 16 kHz float tensors [T] (lengths differ)."""
    return [load_tensor(item.audio_path, 16000).reshape(-1) for item in synthetic_en_items[:2]]


@pytest.fixture(scope="module")
def coded(speech):
    """codec name -> (codec, [(input [1, 1, T] at the codec's rate, codes [1, Q, F])] for both items)."""
    out = {}
    for name in CLASSIC:
        codec = CODECS.get(name).load()
        pairs = []
        for x16 in speech:
            x = resample(x16[None, None], 16000, codec.sample_rate)
            pairs.append((x, codec.encode(x)))
        out[name] = (codec, pairs)
    return out


def _xcorr_lag(x: np.ndarray, y: np.ndarray, max_lag: int = 300) -> int:
    """Lag (samples) of y behind x at the cross-correlation peak."""
    n = 1 << math.ceil(math.log2(len(x) + len(y)))
    c = np.fft.irfft(np.conj(np.fft.rfft(x, n)) * np.fft.rfft(y, n), n)
    window = np.concatenate([c[-max_lag:], c[: max_lag + 1]])
    return int(np.argmax(window)) - max_lag


@pytest.mark.parametrize("name", CLASSIC)
def test_registered_with_every_operating_point(name):
    cls = CODECS.get(name)
    info = cls.describe()
    assert cls.name == name
    assert info.num_codebooks == len(NOMINAL_KBPS[name])
    assert [info.bitrate(k) / 1000 for k in range(1, info.num_codebooks + 1)] == pytest.approx(
        NOMINAL_KBPS[name]
    )
    assert cls.weights_status().available
    with pytest.raises(HybridbenchError):
        info.bitrate(info.num_codebooks + 1)


@pytest.mark.parametrize("name", CLASSIC)
def test_round_trip_shapes_at_every_depth_and_batch_equals_items(name, coded):
    codec, pairs = coded[name]
    x, codes = pairs[0]
    t = x.shape[-1]
    assert codes.dtype == torch.int64 and codes.shape[:2] == (1, codec.num_codebooks)
    sizes = torch.tensor(codec.codebook_sizes)[None, :, None]
    assert (codes >= 0).all() and (codes < sizes).all()
    # A batch of two equal-length items codes each exactly as alone (and encoding is deterministic).
    other = (
        pairs[1][0][..., :t]
        if pairs[1][0].shape[-1] >= t
        else torch.nn.functional.pad(pairs[1][0], (0, t))[..., :t]
    )
    batch = codec.encode(torch.cat([x, other]))
    assert torch.equal(batch[:1], codes)
    assert torch.equal(batch[1:], codec.encode(other))
    for k in range(1, codec.num_codebooks + 1):
        wav = codec.decode(batch[:, :k], length=t)
        assert wav.shape == (2, 1, t) and wav.dtype == torch.float32
        assert torch.isfinite(wav).all() and wav.abs().max() > 0.01


@pytest.mark.parametrize("name", ["opus", "amr-nb"])
def test_simulcast_bitrate_is_the_bitstream_the_encoder_writes(name, coded):
    """Each depth's bitrate equals its operating point's real packets, and row k holds exactly those bits."""
    codec, pairs = coded[name]
    x, codes = pairs[0]
    pcm = np.round(x.reshape(-1).numpy() * 32767).astype(np.int16)
    for k, (op, nominal) in enumerate(zip(codec.operating_points, NOMINAL_KBPS[name], strict=True), start=1):
        ctx = av.CodecContext.create(codec.encoder, "w")
        ctx.sample_rate, ctx.layout, ctx.format, ctx.bit_rate = codec.sample_rate, "mono", "s16", op.bit_rate
        ctx.options = dict(op.options)
        ctx.open()
        frame = ctx.frame_size
        packets = []
        for start in range(0, pcm.size - frame + 1, frame):
            f = av.AudioFrame.from_ndarray(pcm[None, start : start + frame], format="s16", layout="mono")
            f.sample_rate, f.pts = codec.sample_rate, start
            packets += [bytes(p) for p in ctx.encode(f)]
        seconds = len(packets) * frame / codec.sample_rate
        packet_bps = sum(len(p) for p in packets) * 8 / seconds
        reported = codec.bitrate(k)
        assert reported == pytest.approx(nominal * 1000, rel=0.03)
        if name == "opus":  # whole packets are the payload (TOC byte included): exactly the reported rate
            assert packet_bps == reported
        else:  # AMR storage frames: 1 header byte + speech bits padded to a byte; the speech bits are the rate
            assert packet_bps == (1 + math.ceil(op.bits_per_frame / 8)) * 8 * codec.frames_per_second()
            assert reported == op.bits_per_frame * codec.frames_per_second()
        # Row k carries exactly the reported bits per second of coded audio (its spare bits aside).
        n_frames = codes.shape[-1] // codec.symbols_per_frame
        row_seconds = n_frames * codec.frame_samples / codec.sample_rate
        row_bits = codes.shape[-1] * math.log2(codec.codebook_sizes[k - 1])
        spare = n_frames * (codec.symbols_per_frame * codec.widths()[k - 1] - op.bits_per_frame)
        assert (row_bits - spare) / row_seconds == pytest.approx(reported, rel=1e-12)


def test_g722_bitrate_is_the_bitstream_the_encoder_writes(coded):
    codec, pairs = coded["g722"]
    x, codes = pairs[0]
    pcm = np.round(x.reshape(-1).numpy() * 32767).astype(np.int16)
    ctx = av.CodecContext.create("g722", "w")
    ctx.sample_rate, ctx.layout, ctx.format, ctx.bit_rate = 16000, "mono", "s16", 64000
    ctx.open()
    frame = ctx.frame_size
    n = pcm.size // frame * frame
    nbytes = 0
    for start in range(0, n, frame):
        f = av.AudioFrame.from_ndarray(pcm[None, start : start + frame], format="s16", layout="mono")
        f.sample_rate, f.pts = 16000, start
        nbytes += sum(len(bytes(p)) for p in ctx.encode(f))
    assert nbytes * 8 / (n / 16000) == codec.bitrate(3) == 64000
    # Depth k's codes hold 6, 7, 8 bits per 8 kHz codeword: the derived (prefix) bitrate is the real one.
    assert [codec.bitrate(k) for k in (1, 2, 3)] == [48000, 56000, 64000]
    assert codes.shape[-1] == pytest.approx(x.shape[-1] / 2, abs=codec.delay)


@pytest.mark.parametrize("name", CLASSIC)
def test_depth_k_reads_only_the_rows_it_should(name, coded):
    """Rows after k never matter; simulcast depth k reads row k alone; G.722 depth k reads all of rows 1..k."""
    codec, pairs = coded[name]
    (x, codes), (_, other) = pairs
    f = min(codes.shape[-1], other.shape[-1])
    f -= f % getattr(codec, "symbols_per_frame", 1)  # whole frames of a valid bitstream
    codes, other = codes[..., :f], other[..., :f]
    fresh = type(codec).load()  # no state carried over from encoding
    q = codec.num_codebooks
    for k in range(1, q + 1):
        reference = fresh.decode(codes[:, :k])
        if k < q:
            changed = codes.clone()
            changed[:, k:] = other[:, k:]  # another item's valid bitstreams in rows k+1..Q
            assert torch.equal(fresh.decode(changed[:, :k]), reference)
        swapped_last = codes[:, :k].clone()
        swapped_last[:, k - 1] = other[:, k - 1]
        assert not torch.equal(fresh.decode(swapped_last), reference), "depth k must read row k"
        if k > 1:
            swapped_first = codes[:, :k].clone()
            swapped_first[:, 0] = other[:, 0]
            same = torch.equal(fresh.decode(swapped_first), reference)
            assert same == (name != "g722"), "simulcast ignores rows before k; the G.722 core is always read"


def test_a_partial_frame_of_codes_is_refused_with_a_hint(coded):
    codec, pairs = coded["opus"]
    _, codes = pairs[0]
    with pytest.raises(HybridbenchError, match="whole number of frames"):
        codec.decode(codes[..., :-1])


def test_amr_spare_bits_carry_nothing(coded):
    codec, pairs = coded["amr-nb"]
    _, codes = pairs[0]
    k = 1  # 4.75 kbit/s: 95 bits in 4 symbols of 24 bits, the last bit of each frame spare
    noisy = codes[:, :k].clone()
    noisy[:, 0, 3 :: codec.symbols_per_frame] |= 1  # set the spare (least significant) bit of each 4th symbol
    assert not torch.equal(noisy, codes[:, :k])
    assert torch.equal(codec.decode(noisy), codec.decode(codes[:, :k]))


@pytest.mark.parametrize("name", CLASSIC)
def test_output_is_aligned_with_the_input(name, coded):
    codec, pairs = coded[name]
    x, codes = pairs[0]
    ref = x.reshape(-1).double().numpy()
    for k in range(1, codec.num_codebooks + 1):
        out = codec.decode(codes[:, :k], length=x.shape[-1]).reshape(-1).double().numpy()
        assert abs(_xcorr_lag(ref, out)) <= 1, f"depth {k}"


@pytest.mark.parametrize("name", CLASSIC)
def test_higher_bitrate_gives_higher_pesq_and_stoi(name, coded, speech):
    codec, pairs = coded[name]
    pesq, stoi = METRICS.get("pesq-wb")(), METRICS.get("stoi")()
    scores = np.zeros((2, codec.num_codebooks, 2))  # [item, depth, (pesq, stoi)]
    for i, ((x, codes), ref16) in enumerate(zip(pairs, speech, strict=True)):
        ref = ref16.numpy()
        for k in range(1, codec.num_codebooks + 1):
            out = codec.decode(codes[:, :k], length=x.shape[-1])
            deg = resample(out, codec.sample_rate, 16000).reshape(-1)[: ref.size].numpy()
            scores[i, k - 1] = pesq(ref, deg), stoi(ref, deg)
    mean = scores.mean(axis=0)  # [depth, 2]
    # Adjacent AMR modes are 0.4 kbit/s apart: allow a small dip between neighbours, none over the range.
    assert (np.diff(mean[:, 0]) > -0.05).all(), mean[:, 0]
    assert (np.diff(mean[:, 1]) > -0.005).all(), mean[:, 1]
    assert mean[-1, 0] > mean[0, 0] + 0.3, mean[:, 0]
    assert mean[-1, 1] > mean[0, 1], mean[:, 1]


def test_missing_encoder_makes_the_codec_unavailable_not_broken(monkeypatch):
    monkeypatch.setattr(C, "_ffmpeg_has", lambda codec, mode: not (codec == "libopus" and mode == "w"))
    status = C.Opus.weights_status()
    assert not status.available and "encoder 'libopus'" in status.hint
    with pytest.raises(HybridbenchError, match="unavailable"):
        C.Opus.load()
    assert C.G722.weights_status().available


def test_runner_end_to_end_rows_are_all_ok(tmp_path, monkeypatch, synthetic_en_items):
    from hybridbench.runner import RunConfig, Runner
    from hybridbench.store import ResultStore

    # Reuse the speech the session already rendered ($CACHE/synthetic/synthetic-en/<file>) instead of
    # rendering the whole suite again in this test's fresh cache.
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(Path(synthetic_en_items[0].audio_path).parents[2]))

    config = RunConfig(
        codecs=["opus"],
        suites=["synthetic-en"],
        out=tmp_path,
        limit=2,
        asr="whisper-tiny.en",
        timing_repeats=1,
    )
    summary = Runner(config).run()
    with ResultStore(tmp_path / "results.sqlite") as store:
        rows = [r for r in store.rows() if r.codec == "opus"]
    assert summary.failed == 0
    assert sorted((r.item_id, r.depth) for r in rows) == sorted(
        (item, k) for item in {r.item_id for r in rows} for k in range(1, 6)
    )
    assert len(rows) == 10 and all(r.status == "ok" for r in rows)
    assert sorted({r.payload["bitrate"] for r in rows}) == [6000, 8000, 12000, 16000, 24000]
    assert summary.codec_info["opus"]["depth_bitrates"] == [6000, 8000, 12000, 16000, 24000]
