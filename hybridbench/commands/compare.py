"""`hybridbench compare`: is codec A better than codec B at depth k, on the same items, with a checkable number.

Reads a run folder's results.sqlite (nothing is recomputed) and prints `hybridbench.comparison`'s paired
result: A's value, B's value, A - B with its paired bootstrap 95 % interval and a permutation p-value.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hybridbench import stats
from hybridbench.comparison import compare_rows, load_rows, render
from hybridbench.errors import HybridbenchError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="paired test of two codecs at one depth in a run: difference, 95%% CI and p-value",
        description=(
            "Compare codec A with codec B on the items both scored at depth K: A's and B's values, the "
            "difference A - B with a paired bootstrap confidence interval, and a paired permutation p-value."
        ),
    )
    p.add_argument(
        "run_dir", type=Path, metavar="RUN_DIR", help="a run folder (the --out of `hybridbench run`)"
    )
    p.add_argument("--a", required=True, metavar="CODEC", help="codec A")
    p.add_argument("--b", required=True, metavar="CODEC", help="codec B")
    p.add_argument("--depth", required=True, type=int, metavar="K", help="number of codebooks decoded")
    p.add_argument(
        "--b-depth",
        type=int,
        metavar="K",
        help="depth for codec B if it differs (e.g. the identity floor has only depth 1); default: --depth",
    )
    p.add_argument("--suite", help="suite to compare on (required when the run holds several)")
    p.add_argument(
        "--metric",
        default="wer",
        help="wer, cer (corpus rates) or a signal metric stored in the run, e.g. pesq-wb, stoi (default: wer)",
    )
    p.add_argument("--seed", type=int, default=stats.DEFAULT_SEED, help="random seed (default: %(default)s)")
    p.add_argument(
        "--resamples",
        type=int,
        default=stats.DEFAULT_RESAMPLES,
        help="bootstrap resamples and permutations (default: %(default)s)",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of the verdict (default: 0.05)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of text")
    p.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise HybridbenchError(f"--alpha {args.alpha} must be between 0 and 1")
    rows = load_rows(args.run_dir, args.a, args.b)
    result = compare_rows(
        rows,
        a=args.a,
        b=args.b,
        depth=args.depth,
        b_depth=args.b_depth,
        suite=args.suite,
        metric=args.metric,
        seed=args.seed,
        resamples=args.resamples,
        run_dir=args.run_dir,
    )
    if args.json:
        print(
            json.dumps(
                result.to_dict() | {"verdict": result.verdict(args.alpha), "alpha": args.alpha}, indent=2
            )
        )
    else:
        print(render(result, args.alpha))
    return 0
