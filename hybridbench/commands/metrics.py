"""`hybridbench metrics`: the registered signal metrics and what each declares about itself."""

from __future__ import annotations

import argparse

from hybridbench.metrics import DEFAULT_METRICS, METRICS
from hybridbench.report.tables import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics", help="list signal metrics (direction, sample rate, version, default or not)"
    )
    p.set_defaults(func=list_metrics)


def list_metrics(args: argparse.Namespace) -> int:
    rows = []
    for name in METRICS.names():
        spec = METRICS.get(name).spec
        rows.append(
            [
                name,
                "higher" if spec.higher_is_better else "lower",
                f"{spec.sample_rate} Hz",
                "yes" if spec.needs_reference else "no",
                "yes" if name in DEFAULT_METRICS else "no",
                spec.version,
                spec.description,
            ]
        )
    header = ["metric", "better", "scored at", "needs reference", "default", "version", "description"]
    print(markdown_table(header, rows))
    for name, reason in METRICS.broken().items():
        print(f"\nplugin {name} failed to load: {reason}")
    return 0
