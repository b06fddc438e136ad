"""Streaming latency and per-chunk compute of HybridCodec (`hybridcodec.streaming`) on the CPU.

    python benchmarks/hybridcodec_streaming.py [--preset paper] [--variant hybrid] [--seconds 10] [--threads 2]
        [--depth 12] [--chunks 1,2,4,8,16] [--json PATH]

Run it on a quiet machine: per-chunk times are wall-clock times of single calls, and anything else running
(a training job, a test suite) inflates them, the p90 most. The weights are random (`preset(...)`, seeded):
compute does not depend on weight values.

For each chunk size (in frames; 1, 2, 4, 8, 16 = 40 to 640 ms at 25 Hz: a bigger chunk reads the weights once
for more audio, trading latency for compute) one stream of `--seconds` of noise is
pushed chunk by chunk through a `StreamingEncoder`, and each chunk's codes straight into a `StreamingDecoder`
at `--depth` codebooks, as a live link would. Per chunk: encode = `push(audio)`, decode = `push(codes)`,
both = their sum. The first `--warmup` chunks of each stream are not counted (the state is being allocated).

Reported: the algorithmic latency (the chunk, whose last frame's code needs all of its samples, plus the
look-ahead, which is zero: every layer is causal), and per-chunk compute (median and p90, ms). Real time needs
compute < chunk duration; the target is headroom: p90 of encode + decode under half the chunk's duration.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from hybridcodec.config import preset
from hybridcodec.model import HybridCodec
from hybridcodec.streaming import LOOKAHEAD_SAMPLES, StreamingDecoder, StreamingEncoder, algorithmic_latency_s

TARGET_SHARE = 0.5  # the target: encode + decode of a chunk within half its duration (p90)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def stream_once(model: HybridCodec, wav: torch.Tensor, *, frames: int, depth: int, warmup: int) -> dict:
    """Push `wav` [1, 1, T] in chunks of `frames` frames; per-chunk seconds for encode, decode and both."""
    chunk = frames * model.hop_length
    encoder, decoder = StreamingEncoder(model), StreamingDecoder(model, depth)
    times: dict[str, list[float]] = {"encode": [], "decode": [], "both": []}
    for i, start in enumerate(range(0, wav.shape[-1] - chunk + 1, chunk)):
        t0 = time.perf_counter()
        codes = encoder.push(wav[..., start : start + chunk])
        t1 = time.perf_counter()
        audio = decoder.push(codes)
        t2 = time.perf_counter()
        assert codes.shape[-1] == frames and audio.shape[-1] == chunk  # no look-ahead: nothing held back
        if i >= warmup:
            times["encode"].append(t1 - t0)
            times["decode"].append(t2 - t1)
            times["both"].append(t2 - t0)
    if len(times["both"]) < 2:  # a p90 needs two timed chunks
        needed_s = (warmup + 2) * chunk / model.config.sample_rate
        raise SystemExit(
            f"--seconds too short: {frames}-frame chunks need at least {needed_s:.2f} s "
            f"({warmup} warm-up chunks and two timed ones)"
        )
    return times


def row(model: HybridCodec, frames: int, times: dict[str, list[float]]) -> dict:
    chunk_s = frames * model.hop_length / model.config.sample_rate
    out: dict = {
        "chunk_frames": frames,
        "chunk_ms": 1000 * chunk_s,
        "algorithmic_latency_ms": 1000 * algorithmic_latency_s(model, chunk_frames=frames),
        "chunks_timed": len(times["both"]),
    }
    for part, values in times.items():
        out[f"{part}_median_ms"] = 1000 * statistics.median(values)
        out[f"{part}_p90_ms"] = 1000 * p90(values)
    out["both_p90_share_of_chunk"] = out["both_p90_ms"] / out["chunk_ms"]
    out["meets_target"] = out["both_p90_share_of_chunk"] < TARGET_SHARE
    return out


def markdown(rows: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| chunk | algorithmic latency | encode median / p90 | decode median / p90 | both median / p90 "
        "| both p90 / chunk | under half the chunk |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['chunk_frames']} frame{'s' if r['chunk_frames'] > 1 else ''} ({r['chunk_ms']:.0f} ms) "
            f"| {r['algorithmic_latency_ms']:.0f} ms "
            f"| {r['encode_median_ms']:.1f} / {r['encode_p90_ms']:.1f} ms "
            f"| {r['decode_median_ms']:.1f} / {r['decode_p90_ms']:.1f} ms "
            f"| {r['both_median_ms']:.1f} / {r['both_p90_ms']:.1f} ms "
            f"| {r['both_p90_share_of_chunk']:.2f} | {'yes' if r['meets_target'] else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper", choices=["paper", "mini", "tiny"])
    parser.add_argument("--variant", default="hybrid", choices=["hybrid", "dac", "dac-distill"])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio streamed per chunk size")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--depth", type=int, default=None, help="codebooks decoded (default: all)")
    parser.add_argument("--chunks", default="1,2,4,8,16", help="chunk sizes in frames, comma-separated")
    parser.add_argument("--warmup", type=int, default=3, help="chunks per stream not timed")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = HybridCodec(config=preset(args.preset, variant=args.variant).model).eval()
    c = model.config
    depth = c.num_codebooks if args.depth is None else args.depth
    wav = torch.randn(1, 1, int(args.seconds * c.sample_rate)) * 0.1
    rows = []
    for frames in (int(f) for f in args.chunks.split(",")):
        rows.append(
            row(model, frames, stream_once(model, wav, frames=frames, depth=depth, warmup=args.warmup))
        )

    machine = f"CPU {platform.processor() or platform.machine()}, {args.threads} torch threads"
    header = (
        f"HybridCodec `{args.preset}` ({args.variant}, {c.sample_rate} Hz, {c.frame_rate:g} Hz frames, "
        f"decoded at depth {depth}), {args.seconds:g} s streamed per chunk size, {machine}, torch "
        f"{torch.__version__}. Algorithmic latency = chunk + look-ahead ({LOOKAHEAD_SAMPLES} samples); "
        f"one frame = {1000 * c.hop_length / c.sample_rate:.0f} ms. Compute per chunk, fp32."
    )
    print(markdown(rows, header))
    if args.json:
        result = {
            "preset": args.preset,
            "variant": args.variant,
            "sample_rate": c.sample_rate,
            "frame_ms": 1000 * c.hop_length / c.sample_rate,
            "lookahead_ms": 1000 * LOOKAHEAD_SAMPLES / c.sample_rate,
            "depth": depth,
            "seconds": args.seconds,
            "threads": args.threads,
            "machine": machine,
            "torch": torch.__version__,
            "target": f"both p90 < {TARGET_SHARE} x chunk duration",
            "target_share": TARGET_SHARE,
            "rows": rows,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
