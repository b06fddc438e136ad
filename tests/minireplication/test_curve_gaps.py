"""The leaderboard's gaps at the learning curve's last evaluations: known differences and trends from a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from minireplication.curve_gaps import PAIRS, curve_gaps, gaps_section
from minireplication.curves import COLUMNS, CURVES_CSV

# WER at depth 1 and 12 per variant, growing apart linearly: hybrid - dac = 0.10 + 0.02 * k at evaluation k.
VARIANTS = ("hybrid", "dualcodec", "dac-distill", "dac")


def _row(step: int, variant: str, depth: int, wer: float | None, half: float = 0.05) -> dict:
    return {
        "step": step, "variant": variant, "depth": depth, "wer": wer,
        "wer_low": None if wer is None else wer - half, "wer_high": None if wer is None else wer + half,
        "items": 30, "failed": 0, "suite": "asterisk-en-test", "asr": "whisper-base",
    }  # fmt: skip


def _wer(k: int, variant: str, depth: int) -> float:
    base = {"hybrid": 0.30 + 0.02 * k, "dualcodec": 0.25, "dac-distill": 0.22, "dac": 0.20}[variant]
    return base if depth == 1 else base / 2


def _gap(found: dict, pair: tuple[str, str], depth: str) -> dict:
    return next(g for g in found["gaps"] if g["pair"] == pair and g["depth"] == depth)


def _write(folder: Path, rows: list[dict]) -> None:
    with open(folder / CURVES_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def test_gaps_are_differences_in_points_at_the_last_common_steps(tmp_path: Path):
    rows = [_row(500 * k, v, d, _wer(k, v, d)) for k in range(1, 8) for v in VARIANTS for d in (1, 12)]
    rows.append(_row(500, "identity", 1, 0.03))  # the ASR floor is no comparison
    rows.append(_row(4000, "hybrid", 1, 0.9))  # a step not every variant reached is left out
    found = curve_gaps(rows, last=3)
    assert found["steps"] == [2500, 3000, 3500]
    assert found["items"] == 30 and found["suite"] == "asterisk-en-test"
    assert found["half_width"] == pytest.approx(5.0)
    assert len(found["gaps"]) == 2 * len(PAIRS)
    assert _gap(found, ("hybrid", "dac"), "RVQ-1")["diffs"] == pytest.approx([20.0, 22.0, 24.0])
    assert _gap(found, ("hybrid", "dac"), "full depth")["diffs"] == pytest.approx([10.0, 11.0, 12.0])
    assert _gap(found, ("hybrid", "dac"), "RVQ-1")["trend"] == pytest.approx(4.0)  # exact on a straight line
    assert _gap(found, ("dac-distill", "dac"), "RVQ-1")["diffs"] == pytest.approx([2.0, 2.0, 2.0])
    assert _gap(found, ("dac-distill", "dac"), "RVQ-1")["trend"] == pytest.approx(0.0)


def test_the_trend_is_the_fitted_line_not_the_end_points(tmp_path: Path):
    # Gaps 10, 10, 10, 10, 20 points: the end points say +10; the least-squares line rises 0.004 points a step.
    rows = [_row(500 * k, v, d, _wer(0, v, d)) for k in range(1, 6) for v in VARIANTS for d in (1, 12)]
    for r in rows:
        if r["step"] == 2500 and r["variant"] == "hybrid" and r["depth"] == 1:
            r["wer"] += 0.10
    gap = _gap(curve_gaps(rows), ("hybrid", "dac"), "RVQ-1")
    assert gap["diffs"][-1] - gap["diffs"][0] == pytest.approx(10.0)
    assert gap["trend"] == pytest.approx(8.0)  # 0.004 x 2,000 steps


def test_a_later_row_for_the_same_step_replaces_the_earlier_and_missing_wers_are_skipped(tmp_path: Path):
    rows = [_row(500, v, d, _wer(0, v, d)) for v in VARIANTS for d in (1, 12)]
    rows.append(_row(500, "hybrid", 1, 0.50))  # scored again
    rows += [_row(1000, v, d, None if v == "dac" else _wer(0, v, d)) for v in VARIANTS for d in (1, 12)]
    found = curve_gaps(rows)
    assert found["steps"] == [500]  # step 1000 lacks dac's WERs
    gap = _gap(found, ("hybrid", "dac"), "RVQ-1")
    assert gap["diffs"] == pytest.approx([30.0]) and gap["trend"] is None


def test_section_renders_the_table_and_is_absent_without_curves(tmp_path: Path):
    assert gaps_section(tmp_path) is None
    _write(tmp_path, [_row(500, "hybrid", 1, 0.3)])  # one variant alone: nothing to compare
    assert gaps_section(tmp_path) is None
    _write(
        tmp_path, [_row(500 * k, v, d, _wer(k, v, d)) for k in range(1, 3) for v in VARIANTS for d in (1, 12)]
    )
    text = gaps_section(tmp_path)
    assert "| hybridcodec-mini − dac-mini | RVQ-1 | +12.0 | +14.0 | +2.0 |" in text
    assert "| dac-distill-mini − dac-mini | full depth | +1.0 | +1.0 | +0.0 |" in text
    assert "±5.0 points" in text
