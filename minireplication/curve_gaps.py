"""Were the leaderboard's gaps still moving when training stopped? The learning curve's last evaluations, as gaps.

A verdict read at the shipped step says how the minis compare there; a reviewer's next question is whether more
training would have changed it, as when one design learns more slowly than another. The learning curve scores
every variant's checkpoint on the same first items of one suite every few hundred steps (`curves.py`), so the
difference of two variants' corpus WERs at a step is a difference over the same utterances. This module lays
out those differences for the leaderboard's comparisons at the last few evaluations, and how much each moved
over them. They carry no interval of their own; the width of the variants' own intervals at those steps, stated
beside the table, says how much of a movement the few curve items can resolve.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from hybridbench.report.tables import markdown_table
from minireplication.codecs import CODEC_OF_VARIANT
from minireplication.curves import curve_number, read_curves

# The leaderboard's comparisons: HybridCodec against each baseline, and the distillation control.
PAIRS = (("hybrid", "dualcodec"), ("hybrid", "dac-distill"), ("hybrid", "dac"), ("dac-distill", "dac"))
LAST = 5  # evaluations shown: with the default recipe, the last 2,000 steps


def _wer_table(rows: list[dict[str, str]]) -> dict[tuple[int, str, int], dict[str, str]]:
    """(step, variant, depth) -> the row with a WER; a step scored twice keeps its later row."""
    return {
        (int(r["step"]), r["variant"], int(r["depth"])): r for r in rows if curve_number(r, "wer") is not None
    }


def _trend(steps: list[int], diffs: list[float]) -> float | None:
    """How far the least-squares line through the gaps moves from the first step to the last: less swayed by
    one noisy evaluation than the difference of the two end points. None for a single step."""
    if len(steps) < 2:
        return None
    return statistics.linear_regression(steps, diffs).slope * (steps[-1] - steps[0])


def curve_gaps(rows: list[dict[str, str]], *, last: int = LAST) -> dict | None:
    """The last `last` steps at which every variant of PAIRS has WERs at depth 1 and at its full depth, and per
    pair and depth the difference in WER points at each of them. None when no step has them all."""
    table = _wer_table(rows)
    variants = {v for pair in PAIRS for v in pair}
    depths = {}  # variant -> its full depth, the deepest the curve scored
    for _, variant, depth in table:
        depths[variant] = max(depth, depths.get(variant, 1))
    if not variants <= set(depths):
        return None
    complete = [
        s
        for s in sorted({s for s, _, _ in table})
        if all((s, v, d) in table for v in variants for d in (1, depths[v]))
    ]
    steps = complete[-last:]
    if not steps:
        return None
    gaps = []
    for a, b in PAIRS:
        for which in ("RVQ-1", "full depth"):
            da, db = (1, 1) if which == "RVQ-1" else (depths[a], depths[b])
            diffs = [
                100 * (curve_number(table[(s, a, da)], "wer") - curve_number(table[(s, b, db)], "wer"))
                for s in steps
            ]
            gaps.append({"pair": (a, b), "depth": which, "diffs": diffs, "trend": _trend(steps, diffs)})
    cells = [table[(s, v, d)] for s in steps for v in variants for d in {1, depths[v]}]
    half_widths = [
        100 * (curve_number(c, "wer_high") - curve_number(c, "wer_low")) / 2
        for c in cells
        if curve_number(c, "wer_low") is not None and curve_number(c, "wer_high") is not None
    ]
    last_row = table[(steps[-1], PAIRS[0][0], 1)]
    return {
        "steps": steps,
        "gaps": gaps,
        "items": int(last_row["items"]),
        "suite": last_row["suite"],
        "asr": last_row["asr"],
        "half_width": statistics.median(half_widths) if half_widths else None,
    }


def gaps_section(curves_folder: Path) -> str | None:
    """The leaderboard's section on the curve's last gaps, from `curves_folder`/curves.csv; None without one."""
    found = curve_gaps(read_curves(curves_folder))
    if found is None:
        return None
    steps = found["steps"]
    table = markdown_table(
        ["comparison", "depth", *[f"step {s}" for s in steps], "trend over these steps"],
        [
            [
                f"{CODEC_OF_VARIANT[g['pair'][0]]} − {CODEC_OF_VARIANT[g['pair'][1]]}",
                g["depth"],
                *[f"{d:+.1f}" for d in g["diffs"]],
                "–" if g["trend"] is None else f"{g['trend']:+.1f}",
            ]
            for g in found["gaps"]
        ],
    )
    width = (
        f" Each variant's own 95 % interval on these items is ±{found['half_width']:.1f} points wide (median over "
        "the cells), so only a movement well beyond that is a trend."
        if found["half_width"] is not None
        else ""
    )
    return "\n".join(
        [
            "## Were the gaps still moving?",
            "",
            f"WER difference in points on the learning curve's items (the first {found['items']} of "
            f"{found['suite']}, {found['asr']}, training checkpoints in fp32) at its last {len(steps)} "
            f"evaluations: whether more training was still changing what the verdicts compare. The trend is the rise "
            f"of the least-squares line through them, first step to last.{width}",
            "",
            table,
        ]
    )
