"""`hybridbench report RUN [RUN...] --out DIR`: the report folder a reviewer opens: index.html (works from the
file system, no server, no network) with the paper-layout tables (also as Markdown, CSV and LaTeX), plots
(PNG and SVG), tokenizer cards, a listening panel of the audio kept by `run --listen N`, failures with their
reasons and the runs' provenance; report.json holds the same page for tools (see `report.build`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybridbench.errors import HybridbenchError
from hybridbench.report.build import build_report
from hybridbench.report.html import INDEX_NAME


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write a report folder (index.html, tables, plots, cards, audio) of runs"
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (several are read as one)")
    p.add_argument("--out", type=Path, required=True, help="the report folder (created if missing)")
    p.add_argument(
        "--depths",
        default="all",
        help="WER columns and listening depths, e.g. 1,2,3,12, or all (the default)",
    )
    p.set_defaults(func=report)


def parse_depths(value: str) -> list[int] | None:
    """`1,2,3,12` -> [1, 2, 3, 12]; `all` -> None (every depth run)."""
    if value.strip() == "all":
        return None
    try:
        depths = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        depths = []
    if not depths or min(depths) < 1:
        raise HybridbenchError(
            f"invalid --depths {value!r}", "give positive integers, e.g. --depths 1,2,3,12"
        )
    return depths


def report(args: argparse.Namespace) -> int:
    build_report(
        args.runs,
        args.out,
        depths=parse_depths(args.depths),
        progress=lambda stage: print(f"report: {stage}"),
    )
    print(f"report written: open {(args.out / INDEX_NAME).resolve()}")
    return 0
