"""Speed and memory of HybridCodec (`paper` preset) beside DualCodec 25 Hz and DAC 16 kHz, in one run
(the models and the timing are `minireplication.paper_speed`; this prints them as a table).

    python benchmarks/hybridcodec_speed.py [--seconds 4] [--repeats 3] [--batch 1] [--device cuda] [--threads 2]

Random weights, batch `--batch`, fp32 unless `--precision bf16` (autocast on CUDA), `--optimisation` applied
to every model (`minireplication.paper_speed.OPTIMISATIONS`). Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import platform
from contextlib import nullcontext

import torch

from minireplication.paper_speed import (
    DUAL,
    HYBRID,
    OPTIMISATIONS,
    build_subjects,
    run_interleaved,
    summarize,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="audio length per item")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument(
        "--optimisation", choices=OPTIMISATIONS, default="none", help="applied to every model"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
    else:
        device_name = f"CPU {platform.processor() or platform.machine()}, {args.threads} torch threads"

    def autocast():
        if args.precision != "bf16":
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)

    subjects = build_subjects(device, args.optimisation)
    run_interleaved(
        subjects,
        seconds=args.seconds,
        batch=args.batch,
        repeats=args.repeats,
        device=device,
        autocast=autocast,
    )
    result = summarize(
        subjects, seconds=args.seconds, batch=args.batch, repeats=args.repeats, device=device_name
    )
    print(
        f"device: {device_name} | torch {torch.__version__} | precision {args.precision} | batch {args.batch} "
        f"| optimisation {args.optimisation}"
    )
    print(
        f"audio: {args.seconds:g} s per item (random noise; speed does not depend on content), random weights"
    )
    print(
        f"timing: 1 warm-up, median of {args.repeats} interleaved repeats, device synchronised; RTF = s / audio s"
    )
    mem = "peak alloc MiB" if device.type == "cuda" else "peak RSS growth MiB"
    print(f"| model | params (M) | encode RTF | decode RTF | enc+dec RTF | encode {mem} | decode {mem} |")
    print("|" + "---|" * 7)
    for s in subjects:
        r = result.rtf[s.name]
        params = " + ".join(f"{v / 1e6:.2f} {k}" for k, v in s.params.items())
        print(
            f"| {s.name} | {params} | {r['encode']:.4f} | {r['decode']:.4f} | {r['encode+decode']:.4f} | "
            f"{s.memory['encode']:.0f} | {s.memory['decode']:.0f} |"
        )
    for s in subjects:
        if s.note:
            print(f"note: {s.name}: {s.note}")
    hyb, dual = result.rtf[HYBRID]["encode+decode"], result.rtf[DUAL]["encode+decode"]
    rounds = ", ".join(f"{r:.2f}" for r in result.ratio_rounds)
    print(
        f"HybridCodec / DualCodec RTF ratio (enc+dec): {hyb / dual:.3f} -> HybridCodec is {result.speedup:.2f}x "
        f"faster (per round: {rounds})"
    )
    print(
        f"encode only: HybridCodec is {result.encode_speedup:.2f}x faster than DualCodec (w2v-BERT included)"
    )


if __name__ == "__main__":
    main()
