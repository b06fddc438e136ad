"""`hybridbench suites`: registered suites, their size and language, and whether their data is here."""

from __future__ import annotations

import argparse

from hybridbench.errors import HybridbenchError
from hybridbench.report.tables import markdown_table
from hybridbench.suites import SUITES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suites", help="list suites, item counts, hours, languages and data presence")
    p.add_argument("--data-root", help="folder holding the suites' data")
    p.set_defaults(func=list_suites)


def list_suites(args: argparse.Namespace) -> int:
    rows = []
    for name in SUITES.names():
        cls = SUITES.get(name)
        status = cls.status(args.data_root)
        count = hours = "—"
        data = status.hint or "here"
        if status.available:
            try:
                suite = cls(data_root=args.data_root)
                items = suite.items()
                problems = len(suite.problems())
                count = str(len(items)) + (f" (+{problems} rows skipped, with reasons)" if problems else "")
                known = [i.duration for i in items if i.duration is not None]
                hours = f"{sum(known) / 3600:.3f}" + ("" if len(known) == len(items) else " (partial)")
                data = "here"
            except HybridbenchError as exc:
                data = f"error: {exc}"
        rows.append([name, cls.language, count, hours, data, cls.description])
    print(markdown_table(["suite", "language", "items", "hours", "data", "description"], rows))
    for name, reason in SUITES.broken().items():
        print(f"\nplugin {name} failed to load: {reason}")
    return 0
