"""`hybridbench usage`: per-codebook usage (entries used, perplexity, bits) of codecs on a suite's audio."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from tqdm import tqdm

from hybridbench.audio import load_audio, resample
from hybridbench.codecs import CODECS
from hybridbench.commands.run import parse_weights
from hybridbench.errors import HybridbenchError
from hybridbench.registry import parse_names
from hybridbench.report.tables import markdown_table
from hybridbench.run_plan import resolve_device
from hybridbench.suites import SUITES
from hybridbench.usage import codebook_usage


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "usage", help="codebook usage of codecs on a suite: entries used, perplexity, bits per codebook"
    )
    p.add_argument("--codecs", required=True, help="comma-separated codec names")
    p.add_argument("--suite", required=True, help="the audio to encode (e.g. asterisk-en-test)")
    p.add_argument("--limit", type=int, help="first N items (default: all)")
    p.add_argument("--weights", action="append", default=[], metavar="CODEC=PATH", help="weights per codec")
    p.add_argument("--data-root")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.set_defaults(func=usage)


def usage(args: argparse.Namespace) -> int:
    names = parse_names(args.codecs)
    weights = parse_weights(args.weights, names)
    suite_cls = SUITES.get(args.suite)
    status = suite_cls.status(args.data_root)
    if not status.available:
        raise HybridbenchError(f"suite {args.suite} has no data here", status.hint)
    items = suite_cls(data_root=args.data_root).items()[: args.limit]
    if not items:
        raise HybridbenchError(f"suite {args.suite} has no items", "check --data-root and --limit")
    device = resolve_device(args.device)
    audio = [load_audio(item.audio_path) for item in items]
    results: dict[str, list[dict]] = {}
    table = []
    for name in names:
        cls = CODECS.get(name)
        if "simulcast" in str(cls.describe(weights.get(name)).extra.get("layering", "")):
            raise HybridbenchError(
                f"{name}'s codes are bitstream symbols, not quantizer indices", "usage is for neural codecs"
            )
        codec = cls.load(weights=weights.get(name), device=device)
        codes = []
        for data, sr in tqdm(audio, desc=name, unit="item", disable=None):
            wav = resample(torch.from_numpy(data)[None, None], sr, codec.sample_rate).to(device)
            codes.append(codec.encode(wav)[0])
        found = codebook_usage(codes, tuple(codec.codebook_sizes))
        results[name] = [u.to_dict() for u in found]
        for u in found:
            table.append(
                [name, str(u.codebook), str(u.size), f"{u.used} ({100 * u.used_fraction:.1f} %)",
                 f"{u.perplexity:.1f}", f"{u.bits:.2f} of {math.log2(u.size):.0f}"]
            )  # fmt: skip
    frames = results[next(iter(results))][0]["frames"]
    print(f"{args.suite}: {len(items)} items; counts over all frames of each codec ({frames} for the first)")
    print(markdown_table(["codec", "codebook", "size", "used", "perplexity", "bits"], table))
    if args.json:
        args.json.write_text(
            json.dumps({"suite": args.suite, "items": len(items), "codecs": results}, indent=2)
        )
    return 0
