"""leaderboards/speed.md (and speed.json beside it): what each codec of the paper's speed claim costs here.

    python benchmarks/speed_board.py [--out leaderboards/speed.md] [--threads 2] [--repeats 5]   # `make speed`

One command measures and writes everything on the page, on the current device:
- offline, batch 1: HybridCodec (`paper` preset), DualCodec 25 Hz with its full w2v-BERT 2.0 and DAC 16 kHz,
  random weights, timed in interleaved rounds (`minireplication.paper_speed`): encode / decode RTF, parameters
  at inference, peak memory, and the HybridCodec/DualCodec ratio with its spread over the rounds;
- throughput at batch `--batch` (items of `--batch-seconds`), audio seconds per second;
- streaming HybridCodec (`benchmarks/hybridcodec_streaming.py`, run as a child process): algorithmic latency and
  per-chunk compute for chunks of 1 to 16 frames (40 to 640 ms);
- inference optimisations (`--optimisations`, `--opt-batches`), each alone against `none` in interleaved rounds,
  with its effect on the codes and the decoded audio against fp32 (`minireplication.paper_speed`). On the CPU
  the default is `fold-weight-norm` alone: `compile` (a tiny DAC alone took ~3 min to compile on 2 loaded cores,
  so the paper-size models would not fit `make speed`'s ~10 minutes), `bf16` (CPU autocast says nothing about
  the GPU) and the `none` A/A control (one more build of every model) are left out; the GPU run
  (`benchmarks/gpu_speed.sh`) measures all four;
and the paper's figures beside ours, labelled as claims (an RTX A6000 there).

Run it on a quiet machine (no training, no test suite): other jobs inflate the times unevenly and can turn a
ratio round.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hybridbench.provenance import git_short
from minireplication.paper_speed import (
    DAC16,
    DUAL,
    HYBRID,
    OPTIMISATIONS,
    OptimisationResult,
    measure_optimisations,
    measure_subjects,
)

# The paper's own RTFs (PROTOCOL.md: RTX A6000, batch and precision not stated): claims, not measurements here.
# Its DAC figure is its DAC (Distill), the same network with a training-only head.
PAPER_RTF = {HYBRID: 0.014, DUAL: 0.042, DAC16: 0.005}
STREAMING = Path(__file__).with_name("hybridcodec_streaming.py")


def offline(device: torch.device, *, batch: int, seconds: float, repeats: int) -> tuple[dict, list]:
    speed, subjects = measure_subjects(device, batch=batch, seconds=seconds, repeats=repeats)
    return {"speed": speed, "params": {s.name: s.params for s in subjects}}, subjects


def streaming(threads: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "streaming.json"
        cmd = [sys.executable, str(STREAMING), "--preset", "paper", "--threads", str(threads)]
        cmd += ["--seconds", f"{seconds:g}", "--json", str(out)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def default_optimisations(device: str) -> str:
    """All of them on a GPU; on the CPU only what fits `make speed` and says something (see the docstring)."""
    return ",".join(OPTIMISATIONS) if device.startswith("cuda") else "fold-weight-norm"


def optimisation_section(results: list[OptimisationResult], args: argparse.Namespace) -> list[str]:
    chosen = args.optimisations.split(",")
    left_out = [o for o in OPTIMISATIONS if o not in chosen]
    lines = [
        "## Inference optimisations",
        "",
        f"Each optimisation alone against `none` (fp32, eager): the same seeded weights built twice, timed in "
        f"{args.opt_repeats} interleaved rounds on the same {args.opt_seconds:g} s input per item after untimed "
        "warm-up (compilation for `compile`). Output difference against fp32 `none`: share of equal codes from the "
        "same input, and max abs / SNR of the audio decoded from the same codes (inf = identical). `none` is the "
        "A/A control: its speed-up is the timing noise.",
        "",
        "| optimisation | batch | codec | encode RTF none → opt | decode RTF none → opt | speed-up (enc+dec) "
        "| codes equal | audio max abs / SNR (dB) | warm-up (s) | applied |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b, a = r.before, r.after
        lines.append(
            f"| {r.optimisation} | {r.batch} | {r.name} | {b['encode']:.3f} → {a['encode']:.3f} "
            f"| {b['decode']:.3f} → {a['decode']:.3f} | {r.speedup:.2f}x | {r.code_agreement:.4f} "
            f"| {r.max_abs:.2e} / {r.snr_db:.1f} | {r.warmup_s:.1f} | {r.applied or '-'} |"
        )
    lines += [
        "",
        "Not measured in this run: "
        + (", ".join(f"`{o}`" for o in left_out) if left_out else "nothing of the four")
        + (
            " (on the CPU `compile` takes minutes per model, bf16 is CPU autocast, and the `none` A/A control "
            "costs one more build of every model; `benchmarks/gpu_speed.sh` measures all four on a GPU)."
            if left_out
            else "."
        )
        + " Optimisations are measured alone, not combined.",
    ]
    return lines


def page(
    batch1: dict,
    subjects1: list,
    batched: dict,
    stream: dict,
    args: argparse.Namespace,
    optimised: list[OptimisationResult],
) -> str:
    s1, sb = batch1["speed"], batched["speed"]
    rounds = s1.ratio_rounds
    lines = [
        "# Speed: what each codec of the paper's speed claim costs",
        "",
        f"Generated by `make speed` (`python benchmarks/speed_board.py --threads {args.threads} --repeats "
        f"{args.repeats}`) on {time.strftime('%Y-%m-%d')}, git {git_short()}: {s1.device}, {args.threads} torch "
        f"threads, torch {torch.__version__}, fp32. Random weights (speed does not depend on their values); input "
        f"{args.seconds:g} s of noise per item. Offline rows: median of {args.repeats} interleaved rounds after a "
        "warm-up, device synchronised; RTF = compute seconds / audio seconds (lower is faster).",
        "",
        "## Offline, batch 1",
        "",
        "| codec | parameters at inference (M) | encode RTF | decode RTF | encode+decode RTF "
        "| peak memory encode / decode (MiB) | paper's RTF (claim, RTX A6000) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in subjects1:
        r = s1.rtf[s.name]
        params = " + ".join(f"{v / 1e6:.1f} {k}" for k, v in batch1["params"][s.name].items())
        lines.append(
            f"| {s.name} | {params} | {r['encode']:.3f} | {r['decode']:.3f} | {r['encode+decode']:.3f} "
            f"| {s.memory['encode']:.0f} / {s.memory['decode']:.0f} | {PAPER_RTF[s.name]} |"
        )
    lines += [
        "",
        "DualCodec's encode includes its w2v-BERT 2.0 feature extraction (its semantic input); HybridCodec and DAC "
        "run no SSL model at inference. The paper's DAC figure is its DAC (Distill), the same network at inference. "
        "Memory: "
        + (
            "peak CUDA allocation during the call."
            if "cuda" in args.device
            else "peak resident-set growth during the call (CPU), beside the weights already loaded."
        ),
        "",
        f"**HybridCodec / DualCodec, encode+decode: {1 / s1.speedup:.3f}, HybridCodec {s1.speedup:.2f}x faster** "
        f"(per round {min(rounds):.2f}x to {max(rounds):.2f}x; encode alone {s1.encode_speedup:.2f}x). The paper "
        "claims 3.0x (0.014 vs 0.042). HybridCodec / DAC 16 kHz, encode+decode: "
        f"{s1.rtf[HYBRID]['encode+decode'] / s1.rtf[DAC16]['encode+decode']:.2f} (the paper: 2.8).",
        "",
        f"## Throughput, batch {args.batch}",
        "",
        "| codec | encode+decode RTF | audio seconds per second |",
        "|---|---|---|",
    ]
    for name, r in sb.rtf.items():
        lines.append(f"| {name} | {r['encode+decode']:.3f} | {1 / r['encode+decode']:.2f} |")
    lines += [
        "",
        f"Items of {args.batch_seconds:g} s, batch {args.batch}, median of {sb.repeats} interleaved rounds.",
        "",
        "## Streaming HybridCodec",
        "",
        f"`paper` preset, {stream['seconds']:g} s streamed per chunk size, decoded at depth {stream['depth']}; one "
        f"frame = {stream['frame_ms']:.0f} ms, look-ahead {stream['lookahead_ms']:g} ms. Streaming codes equal the "
        "offline codes and streaming audio the offline audio (tests/hybridcodec/test_streaming.py). Target: "
        f"{stream['target']}. DualCodec cannot stream: its w2v-BERT attends over the whole input.",
        "",
        "| chunk | algorithmic latency | encode median / p90 (ms) | decode median / p90 (ms) "
        "| both p90 / chunk | target met |",
        "|---|---|---|---|---|---|",
    ]
    for r in stream["rows"]:
        lines.append(
            f"| {r['chunk_frames']} frame(s), {r['chunk_ms']:.0f} ms | {r['algorithmic_latency_ms']:.0f} ms "
            f"| {r['encode_median_ms']:.1f} / {r['encode_p90_ms']:.1f} | {r['decode_median_ms']:.1f} / "
            f"{r['decode_p90_ms']:.1f} | {r['both_p90_share_of_chunk']:.2f} | {'yes' if r['meets_target'] else 'no'} |"
        )
    lines += ["", *optimisation_section(optimised, args)]
    return "\n".join(lines) + "\n"


def _strict(value):
    """JSON has no infinity: an SNR of identical outputs (inf dB) is written as the string "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("leaderboards/speed.md"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0, help="audio per item at batch 1")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds at batch 1")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--batch-seconds", type=float, default=2.0)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument(
        "--optimisations", help=f"comma-separated from {','.join(OPTIMISATIONS)} (default: by device)"
    )
    parser.add_argument(
        "--opt-batches", default="1", help="comma-separated batch sizes for the optimisations"
    )
    parser.add_argument("--opt-seconds", type=float, default=2.0, help="audio per item, optimisations")
    parser.add_argument("--opt-repeats", type=int, default=3, help="interleaved rounds, optimisations")
    args = parser.parse_args()
    args.optimisations = args.optimisations or default_optimisations(args.device)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batch1, subjects1 = offline(device, batch=1, seconds=args.seconds, repeats=args.repeats)
    batched, _ = offline(device, batch=args.batch, seconds=args.batch_seconds, repeats=3)
    stream = streaming(args.threads, args.stream_seconds)
    for (
        s
    ) in subjects1:  # free the batch-1 models (the page keeps their numbers): the next part builds two sets
        s.encode = s.decode = s.codes = None
        s.modules.clear()
    optimised = [
        r
        for b in map(int, args.opt_batches.split(","))
        for r in measure_optimisations(
            args.optimisations.split(","),
            device=device,
            seconds=args.opt_seconds,
            batch=b,
            repeats=args.opt_repeats,
        )
    ]
    text = page(batch1, subjects1, batched, stream, args, optimised)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    record = {
        "batch1": {"rtf": batch1["speed"].rtf, "ratio_rounds": batch1["speed"].ratio_rounds},
        "batched": {"batch": args.batch, "rtf": batched["speed"].rtf},
        "params": batch1["params"],
        "memory_mib": {s.name: s.memory for s in subjects1},
        "streaming": stream,
        "optimisations": [{**vars(r), "speedup": r.speedup} for r in optimised],
        "device": batch1["speed"].device,
        "threads": args.threads,
        "torch": torch.__version__,
        "git": git_short(),
    }
    text_json = json.dumps(_strict(record), indent=2, allow_nan=False)
    args.out.with_suffix(".json").write_text(text_json + "\n", encoding="utf-8")
    print(text)
    print(f"written: {args.out}, {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
