"""`hybridbench speed`: encode/decode real-time factor and throughput of codecs at a chosen batch size."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hybridbench.codecs import CODECS
from hybridbench.commands.run import parse_weights
from hybridbench.errors import HybridbenchError
from hybridbench.registry import parse_names
from hybridbench.report.tables import markdown_table
from hybridbench.run_plan import resolve_device
from hybridbench.speed import measure


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("speed", help="real-time factor and throughput of codecs at a chosen batch size")
    p.add_argument("--codecs", required=True, help="comma-separated codec names")
    p.add_argument("--weights", action="append", default=[], metavar="CODEC=PATH", help="weights per codec")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0, help="audio seconds per batch item")
    p.add_argument("--depth", type=int, help="decode depth (default: every codebook)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.set_defaults(func=speed)


def speed(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.seconds <= 0 or args.repeats < 1:
        raise HybridbenchError("--batch-size, --seconds and --repeats must be positive")
    names = parse_names(args.codecs)
    weights = parse_weights(args.weights, names)
    device = resolve_device(args.device)
    results = []
    for name in names:
        codec = CODECS.get(name).load(weights=weights.get(name), device=device)
        results += measure(
            codec,
            batch_size=args.batch_size,
            seconds=args.seconds,
            depth=args.depth,
            repeats=args.repeats,
            warmup=args.warmup,
        )
    rows = [
        [
            r.codec,
            r.stage,
            f"{r.rtf:.4f}",
            f"{r.throughput:.1f}",
            f"{r.median_s:.4f} ({r.min_s:.4f}-{r.max_s:.4f})",
            "yes" if r.includes_ssl else "no",
        ]
        for r in results
    ]
    first = results[0]
    print(
        f"device {first.device}, batch {first.batch_size} x {first.seconds_per_item:g} s, {first.precision}, "
        f"median of {args.repeats} after {args.warmup} warm-up calls"
    )
    print(
        markdown_table(["codec", "stage", "RTF", "audio s / s", "median s (min-max)", "SSL included"], rows)
    )
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return 0
