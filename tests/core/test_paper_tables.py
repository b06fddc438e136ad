"""The paper-layout table: known answers on a crafted summary (cell text, best marking, the floor row, LaTeX
escaping), the numbers of a real run carried unchanged to the CSV, and the LaTeX compiling where TeX exists."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from hybridbench.errors import HybridbenchError
from hybridbench.report.paper_tables import FLOOR_LABEL, paper_table, tex_escape, write_paper_table
from hybridbench.results import RunResults, open_run

SUITE = "crafted-en"


def summary_line(codec: str, depth: int, wer: float, pesq: float | None = None, **extra) -> dict:
    """One summary line as `aggregate.summarize` makes it, with round numbers."""
    return {
        "suite": SUITE,
        "codec": codec,
        "depth": depth,
        "items": 10,
        "failed": 0,
        "wer": wer,
        "wer_low": wer - 0.01,
        "wer_high": wer + 0.02,
        "rtf_encode": 0.01,
        "rtf_decode": 0.02,
        "kbps": 0.5 * depth,
        "normalizer": "whisper-english (test)",
        "pesq-wb": pesq,
        "pesq-wb_low": None if pesq is None else pesq - 0.1,
        "pesq-wb_high": None if pesq is None else pesq + 0.1,
        "pesq-wb_n": 0 if pesq is None else 10,
        "pesq-wb_failed": 0,
    } | extra


def crafted_run(tmp_path: Path, lines: list[dict], metrics: tuple[str, ...] = ("pesq-wb",)) -> RunResults:
    """A RunResults over a summary written by hand (no store: every number is the test's own)."""
    run = RunResults(
        folders=[tmp_path],
        configs=[{"metrics": list(metrics), "timing_repeats": 3, "asr_resolved": {SUITE: {"name": "asr-x"}}}],
        provenances=[{"device": "cpu", "device_name": "test CPU", "codecs": {}}],
        rows=[],
    )
    run.__dict__["summary"] = pd.DataFrame.from_records(lines)  # fills the cached property
    return run


@pytest.fixture
def crafted(tmp_path):
    # The floor beats every codec on both WER and PESQ, as the original audio does: it must never be marked.
    lines = [
        summary_line("identity", 1, 0.02, 4.6),
        summary_line("codec-a", 1, 0.154, None, items=2621, failed=1, wer_low=0.131, wer_high=0.179),
        summary_line("codec-a", 2, 0.09, 2.0),
        summary_line("codec-b", 1, 0.30, None),
        summary_line("codec-b", 2, 0.08, 2.5),
        summary_line("codec-b", 12, 0.05, 3.1),
    ]
    return crafted_run(tmp_path, lines)


def test_rows_columns_and_cell_text(crafted):
    table = paper_table(crafted, SUITE)
    assert list(table.display.index) == [FLOOR_LABEL, "codec-a", "codec-b"]
    assert list(table.display.columns) == [
        "WER RVQ-1",
        "WER 1:2",
        "WER 1:12",
        "depth",
        "PESQ-WB",
        "RTF",
        "kbps",
    ]
    a = table.display.loc["codec-a"]
    assert a["WER RVQ-1"] == "15.4 [13.1, 17.9] n=2620"  # in %, n = items scored (one failed)
    assert a["WER 1:12"] == "—"  # codec-a was not run at depth 12
    assert a["depth"] == "2" and a["PESQ-WB"] == "2.000 [1.900, 2.100] n=10"
    assert a["RTF"] == "0.0300 n=10" and a["kbps"] == "1.00"
    # The original audio has no depth: the floor's one WER stands in every WER column.
    floor = table.display.loc[FLOOR_LABEL]
    assert floor["WER RVQ-1"] == floor["WER 1:12"] == "2.0 [1.0, 4.0] n=10"


def test_best_cells_are_the_codecs_best_never_the_floor(crafted):
    table = paper_table(crafted, SUITE)
    assert table.best == {
        ("codec-a", "WER RVQ-1"),  # 15.4 < 30.0
        ("codec-b", "WER 1:2"),  # 8 < 9
        ("codec-b", "WER 1:12"),  # the only codec there
        ("codec-b", "PESQ-WB"),  # higher is better: 3.1 at its depth 12 > 2.0
        ("codec-a", "RTF"),  # a tie: both marked
        ("codec-b", "RTF"),
    }
    assert not any(row == FLOOR_LABEL for row, _ in table.best)


def test_values_hold_the_summary_numbers_and_depth_selection(crafted):
    table = paper_table(crafted, SUITE, depths=[2])
    assert [c for c in table.display.columns if c.startswith("WER")] == ["WER 1:2"]
    row = table.values.loc["codec-b"]
    assert (row["WER 1:2"], row["WER 1:2 low"], row["WER 1:2 high"], row["WER 1:2 n"]) == (
        0.08,
        0.07,
        0.1,
        10,
    )
    assert row["PESQ-WB"] == 3.1 and row["depth"] == 12 and row["RTF"] == pytest.approx(0.03)
    # Every displayed column is a column of the numbers (its interval and count beside it).
    assert set(table.display.columns) <= set(table.values.columns)


def test_user_mistakes_are_one_line_errors(crafted):
    with pytest.raises(HybridbenchError, match="not in this run"):
        paper_table(crafted, "no-such-suite")
    with pytest.raises(HybridbenchError, match="depth 5 was not run"):
        paper_table(crafted, SUITE, depths=[1, 5])
    floor_only = crafted_run(crafted.folders[0], [summary_line("identity", 1, 0.02, 4.6)])
    with pytest.raises(HybridbenchError, match="only the original audio"):
        paper_table(floor_only, SUITE)


def test_latex_escapes_specials_and_marks_best_in_bold(tmp_path):
    assert tex_escape("a_b 5% & #1 {x} $ ~ ^ —") == (
        r"a\_b 5\% \& \#1 \{x\} \$ \textasciitilde{} \textasciicircum{} ---"
    )
    run = crafted_run(
        tmp_path, [summary_line("identity", 1, 0.02, 4.6), summary_line("my_codec&co", 1, 0.1, 2.0)]
    )
    table = write_paper_table(paper_table(run, SUITE), tmp_path / "report")
    tex = (tmp_path / "report" / table.files["tex"]).read_text()
    assert r"my\_codec\&co & \textbf{10.0 [9.0, 12.0] n=10}" in tex
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
    assert r"\label{tab:hybridbench-crafted-en}" in tex and r"\caption{" in tex
    md = (tmp_path / "report" / table.files["md"]).read_text()
    assert "| my_codec&co | **10.0 [9.0, 12.0] n=10** |" in md


def test_written_files_and_csv_round_trip(crafted, tmp_path):
    table = write_paper_table(paper_table(crafted, SUITE), tmp_path / "out")
    assert table.files == {
        "md": Path("table-crafted-en.md"),
        "csv": Path("table-crafted-en.csv"),
        "tex": Path("table-crafted-en.tex"),
        "tex_document": Path("table-crafted-en-document.tex"),
    }
    back = pd.read_csv(tmp_path / "out" / table.files["csv"], index_col="codec")
    pd.testing.assert_frame_equal(back, table.values, check_dtype=False)


def tex_engine() -> list[str] | None:
    for engine in ("tectonic", "pdflatex", "lualatex"):
        exe = shutil.which(engine)
        if exe:
            return [exe] if engine == "tectonic" else [exe, "-interaction=nonstopmode", "-halt-on-error"]
    return None


def test_latex_compiles(tmp_path):
    command = tex_engine()
    if command is None:
        pytest.skip("no TeX engine: none of tectonic, pdflatex, lualatex is on PATH")
    lines = [
        summary_line("identity", 1, 0.02, 4.6),
        summary_line("odd_name&co#1%", 1, 0.1, 2.0),
        summary_line("codec-b", 12, 0.05, None),
    ]
    table = write_paper_table(paper_table(crafted_run(tmp_path, lines), SUITE), tmp_path)
    done = subprocess.run(
        [*command, table.files["tex_document"].name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "table-crafted-en-document.pdf").is_file()


def test_a_real_run_gives_its_summary_numbers(small_run, tmp_path):
    run = open_run(small_run)
    table = write_paper_table(paper_table(run, "synthetic-en"), tmp_path)
    summary = run.summary.set_index(["codec", "depth"])
    back = pd.read_csv(tmp_path / table.files["csv"], index_col="codec")
    assert list(back.index) == [FLOOR_LABEL, "dac-mini", "g722"]
    for depth in (1, 2, 3, 12):
        label = "WER RVQ-1" if depth == 1 else f"WER 1:{depth}"
        assert back.loc["dac-mini", label] == pytest.approx(summary.loc[("dac-mini", depth), "wer"])
        assert back.loc["dac-mini", f"{label} low"] == pytest.approx(
            summary.loc[("dac-mini", depth), "wer_low"]
        )
    assert math.isnan(back.loc["g722", "WER 1:12"])  # g722 has 3 depths
    assert back.loc["g722", "PESQ-WB"] == pytest.approx(summary.loc[("g722", 3), "pesq-wb"])
    assert back.loc["dac-mini", "STOI"] == pytest.approx(summary.loc[("dac-mini", 12), "stoi"])
    assert back.loc["dac-mini", "kbps"] == pytest.approx(summary.loc[("dac-mini", 12), "kbps"])
    assert back.loc[FLOOR_LABEL, "WER 1:3"] == pytest.approx(summary.loc[("identity", 1), "wer"])
    assert "SIM (resemblyzer)" in table.display.columns
    assert not any(row == FLOOR_LABEL for row, _ in table.best)
