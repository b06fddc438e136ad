"""`hybridbench rescore`: a run's WER tables under another normalizer or averaging, from its stored transcripts.

No codec and no ASR runs: the raw transcripts in results.sqlite are normalized and counted again
(`protocol.rescored_summary`), and each suite's table is printed under its protocol card, so the difference
between this table and the run's own, or a paper's, is the protocol's part of a gap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.normalize import NAMED
from hybridbench.protocol import protocol_of, rescored_summary
from hybridbench.report.aggregate import WER_AVERAGES
from hybridbench.report.tables import format_num, format_pct, format_with_ci, markdown_table
from hybridbench.results import open_runs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rescore",
        help="a run's WER tables under another text normalizer or averaging (no codec or ASR work)",
        description=(
            "Recompute a run's WER/CER tables from its stored raw transcripts under another normalizer and/or "
            "WER averaging, and print them with the protocol card."
        ),
    )
    p.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN", help="run folder(s) (the --out of `hybridbench run`)"
    )
    p.add_argument(
        "--normalizer",
        metavar="NAME",
        help=f"score every row with this normalizer ({', '.join(NAMED)}); default: the run's own",
    )
    p.add_argument(
        "--average",
        choices=WER_AVERAGES,
        default="corpus",
        help="corpus: summed edits / summed reference words; utterance: mean of per-utterance WERs "
        "(default: %(default)s)",
    )
    p.add_argument("--suite", help="only this suite (default: every suite of the run)")
    p.add_argument("--out", type=Path, metavar="DIR", help="also write rescored-<suite>.md and .csv here")
    p.set_defaults(func=rescore)


def rescore(args: argparse.Namespace) -> int:
    run = open_runs(args.run_dirs)
    summary = rescored_summary(run, normalizer=args.normalizer, average=args.average)
    suites = run.suites
    if args.suite is not None:
        if args.suite not in suites:
            raise HybridbenchError(
                f"suite {args.suite!r} is not in the run", f"the run holds: {', '.join(suites) or 'no rows'}"
            )
        suites = [args.suite]
    if not suites:
        raise HybridbenchError("the run holds no rows to rescore", "run `hybridbench run` into it first")
    pages = []
    for suite in suites:
        card = protocol_of(run, suite, normalizer=args.normalizer, average=args.average).card()
        suite_summary = summary[summary["suite"] == suite]
        page = f"{card}\n\n{wer_table(suite_summary)}\n"
        pages.append(page)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"rescored-{suite}.md").write_text(page, encoding="utf-8")
            suite_summary.to_csv(args.out / f"rescored-{suite}.csv", index=False)
    print("\n".join(pages), end="")
    return 0


def wer_table(suite_summary: pd.DataFrame) -> str:
    """One row per (codec, depth): the headline WER with its 95 % interval, the other averaging beside it,
    CER, and the item counts."""
    header = [
        "codec",
        "depth",
        "kbps",
        "WER % [95 % CI]",
        "corpus WER %",
        "mean utt. WER %",
        "CER %",
        "items",
        "failed",
    ]
    rows = [
        [
            str(r["codec"]),
            str(r["depth"]),
            format_num(r.get("kbps"), 2),
            format_with_ci(r, "wer", pct=True),
            format_pct(r.get("wer_corpus", r.get("wer"))),
            format_pct(r.get("wer_utterance_mean")),
            format_with_ci(r, "cer", pct=True),
            str(r["items"]),
            str(r["failed"]),
        ]
        for r in suite_summary.to_dict("records")
    ]
    return markdown_table(header, rows)
