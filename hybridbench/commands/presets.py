"""`hybridbench presets`: the named benchmarks that `hybridbench run --preset NAME` runs, and their settings."""

from __future__ import annotations

import argparse

from hybridbench.presets import PRESETS
from hybridbench.report.tables import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the named benchmarks for `run --preset`")
    p.set_defaults(func=list_presets)


def list_presets(args: argparse.Namespace) -> int:
    rows = []
    for name in PRESETS.names():
        preset = PRESETS.get(name)
        rows.append(
            [
                name,
                preset.codecs or "every codec with weights here",
                preset.suites,
                preset.asr,
                preset.depths + (" + full" if preset.include_full_depth else ""),
                preset.limit or "all",
                preset.metrics,
                preset.description,
            ]
        )
    print(
        markdown_table(
            ["preset", "codecs", "suites", "asr", "depths", "items", "metrics", "description"], rows
        )
    )
    for name, reason in PRESETS.broken().items():
        print(f"\nplugin {name} failed to load: {reason}")
    return 0
