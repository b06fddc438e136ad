"""`hybridbench verify`: hold a paper's published numbers (leaderboards/published/*.json) against run folders.

Prints one line per claimed cell: claimed, measured with its 95 % interval, and a verdict (reproduced, not
reproduced, not comparable with the reason), rescoring the stored transcripts under the claim's normalizer and
averaging where it states them (`hybridbench.verify`). Exit status 1 when a comparable cell is not reproduced,
so CI can gate on it; 0 otherwise; 2 for a usage error (a malformed claims file, an unknown run folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybridbench.published import load_published
from hybridbench.results import open_runs
from hybridbench.verify import exit_status, parse_codec_map, render, verify_claims


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check a paper's published numbers against run folders: reproduced / not reproduced / not comparable",
        description=(
            "For each claim of FILE (leaderboards/published format) with a comparable measured cell, print the "
            "claimed and measured values, the 95%% interval and a verdict; exit 1 if any comparable claim is not "
            "reproduced."
        ),
    )
    p.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN", help="run folder(s) (the --out of `hybridbench run`)"
    )
    p.add_argument(
        "--claims",
        type=Path,
        required=True,
        metavar="FILE",
        help="a paper's claims, e.g. leaderboards/published/hybridcodec-2606.06743.json",
    )
    p.add_argument(
        "--map",
        dest="codec_map",
        metavar="MODEL=CODEC,...",
        help='the run\'s codec for each claimed model, e.g. "HybridCodec=hybridcodec-mini,DAC=dac-mini" '
        "(default: a codec of the model's own name)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        metavar="X",
        help="also count a claim reproduced within X of the measured value, in the claim's units "
        "(WER points, PESQ units; default: %(default)s, the interval alone)",
    )
    p.set_defaults(func=verify)


def verify(args: argparse.Namespace) -> int:
    paper = load_published(args.claims)
    codec_map = parse_codec_map(args.codec_map)
    run = open_runs(args.run_dirs)
    verdicts = verify_claims(run, paper.claims, codec_map=codec_map, tolerance=args.tolerance)
    source = f"{paper.citation.short()}; read from {paper.source}"
    print(render(verdicts, source=source, tolerance=args.tolerance))
    return exit_status(verdicts)
