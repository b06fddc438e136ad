"""Report plots: the figures carry the summary's numbers (inspected on the Figure before saving), the Pareto
front is a known answer, files are valid PNG/SVG and identical on a rerun, and a figure the data cannot make is
returned with its reason."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridbench.report.paper_tables import FLOOR_LABEL
from hybridbench.report.plots import (
    CannotPlot,
    metric_vs_bitrate,
    pareto_front,
    pareto_plot,
    rtf_bars,
    wer_vs_bitrate,
    wer_vs_depth,
    write_plots,
)
from hybridbench.results import open_run

SUITE = "crafted-en"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def line(
    codec: str, depth: int, wer: float, kbps: float, *, stoi: float | None = 0.9, suite: str = SUITE
) -> dict:
    return {
        "suite": suite,
        "codec": codec,
        "depth": depth,
        "items": 5,
        "failed": 0,
        "wer": wer,
        "wer_low": wer * 0.8,
        "wer_high": wer * 1.2,
        "kbps": kbps,
        "rtf_encode": 0.01 * depth,
        "rtf_decode": 0.02,
        "stoi": stoi,
        "stoi_low": None if stoi is None else stoi - 0.01,
        "stoi_high": None if stoi is None else stoi + 0.01,
        "stoi_n": 5,
        "stoi_failed": 0,
    }


@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            line("identity", 1, 0.03, 256.0),
            line("codec-a", 1, 0.40, 0.5),
            line("codec-a", 2, 0.20, 1.0),
            line("codec-a", 4, 0.10, 2.0),
            line("codec-b", 1, 0.25, 0.75),
            line("codec-b", 2, 0.12, 1.5),
        ]
    )


def labelled_lines(fig) -> dict[str, object]:
    return {ln.get_label(): ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}


def test_wer_vs_depth_has_one_line_per_codec_with_the_summarys_values(summary):
    fig = wer_vs_depth(summary, SUITE)
    lines = labelled_lines(fig)
    assert set(lines) == {"codec-a", "codec-b", FLOOR_LABEL}
    np.testing.assert_allclose(lines["codec-a"].get_xdata(), [1, 2, 4])
    np.testing.assert_allclose(lines["codec-a"].get_ydata(), [40, 20, 10])  # WER in %
    np.testing.assert_allclose(lines["codec-b"].get_ydata(), [25, 12])
    floor = lines[FLOOR_LABEL]
    assert floor.get_linestyle() == "--" and np.allclose(floor.get_ydata(), 3)  # a horizontal dashed line
    assert len(fig.axes[0].collections) == 2  # one interval band per codec


def test_wer_vs_bitrate_is_on_a_log_axis(summary):
    fig = wer_vs_bitrate(summary, SUITE)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(labelled_lines(fig)["codec-b"].get_xdata(), [0.75, 1.5])


def test_metric_vs_bitrate_draws_the_depths_where_the_metric_was_scored(summary):
    summary.loc[(summary["codec"] == "codec-a") & (summary["depth"] == 2), "stoi"] = np.nan
    fig = metric_vs_bitrate(summary, SUITE, "stoi")
    np.testing.assert_allclose(labelled_lines(fig)["codec-a"].get_xdata(), [0.5, 2.0])
    assert FLOOR_LABEL not in labelled_lines(fig)


def test_rtf_bars_stack_encode_under_decode_at_each_codecs_highest_depth(summary):
    fig = rtf_bars(summary, SUITE)
    bars = fig.axes[0].patches
    heights = [round(b.get_height(), 6) for b in bars]
    bottoms = [round(b.get_y(), 6) for b in bars]
    # encode: codec-a at depth 4 (0.04), codec-b at depth 2 (0.02); decode 0.02 on top of each.
    assert heights == [0.04, 0.02, 0.02, 0.02] and bottoms == [0, 0, 0.04, 0.02]


def test_rtf_bars_split_out_ssl_extraction_where_it_was_timed_apart(summary):
    # codec-a runs an SSL model timed apart: 0.03 of its 0.04 encode; codec-b runs none.
    timed = summary.assign(rtf_ssl=np.where(summary["codec"] == "codec-a", 0.03, np.nan))
    bars = rtf_bars(timed, SUITE).axes[0].patches
    heights = [round(b.get_height(), 6) for b in bars]
    bottoms = [round(b.get_y(), 6) for b in bars]
    # SSL, then the rest of encode on it, then decode on top.
    assert heights == [0.03, 0.0, 0.01, 0.02, 0.02, 0.02] and bottoms == [0, 0, 0.03, 0, 0.04, 0.02]


def test_pareto_front_known_answer():
    frame = pd.DataFrame(
        {
            "name": ["A", "B", "C", "D", "E"],
            "wer": [0.3, 0.2, 0.25, 0.1, 0.1],
            "kbps": [1.0, 2.0, 3.0, 6.0, 7.0],
            "rtf": [0.5, 0.5, 0.1, 0.5, 0.4],
        }
    )
    # C is beaten by B on both; E ties D on WER at a higher bitrate.
    assert list(pareto_front(frame, ("wer", "kbps"))["name"]) == ["A", "B", "D"]
    # With speed as a third objective, C (fastest) and E (faster than D) are no longer beaten.
    assert set(pareto_front(frame, ("wer", "kbps", "rtf"))["name"]) == {"A", "B", "C", "D", "E"}


def test_pareto_plot_joins_the_front_and_shows_untimed_points_apart(summary):
    summary.loc[summary["codec"] == "codec-b", "rtf_decode"] = np.nan
    fig = pareto_plot(summary, SUITE)
    front = labelled_lines(fig)["WER/bitrate front"]
    # codec-a 1 (0.5, 40), codec-b 1 (0.75, 25), codec-a 2 (1.0, 20), codec-b 2 (1.5, 12), codec-a 4 (2.0, 10):
    # each is beaten by none on both WER and bitrate.
    np.testing.assert_allclose(front.get_xdata(), [0.5, 0.75, 1.0, 1.5, 2.0])
    untimed = [c for c in fig.axes[0].collections if c.get_label() == "RTF not available"]
    assert len(untimed) == 1 and len(untimed[0].get_offsets()) == 2


def test_unknown_suite_and_unscored_metric_cannot_be_plotted(summary):
    with pytest.raises(CannotPlot, match="not in the summary"):
        wer_vs_depth(summary, "other")
    summary["stoi"] = np.nan
    with pytest.raises(CannotPlot, match="no STOI score"):
        metric_vs_bitrate(summary, SUITE, "stoi")


def test_write_plots_files_are_valid_deterministic_and_skips_are_said(summary, tmp_path):
    summary["stoi"] = np.nan  # scored nowhere: its figure cannot be made
    plots = write_plots(summary, tmp_path / "a")
    by_name = {p.name: p for p in plots}
    assert by_name["stoi-vs-bitrate-crafted-en"].skipped and not by_name["stoi-vs-bitrate-crafted-en"].files
    drawn = [p for p in plots if not p.skipped]
    assert {p.name for p in drawn} == {
        "wer-vs-depth-crafted-en",
        "wer-vs-bitrate-crafted-en",
        "rtf-crafted-en",
        "pareto-crafted-en",
    }
    for plot in drawn:
        assert plot.suite == SUITE and plot.caption
        assert plot.files == {"png": Path(f"plots/{plot.name}.png"), "svg": Path(f"plots/{plot.name}.svg")}
        assert (tmp_path / "a" / plot.files["png"]).read_bytes().startswith(PNG_MAGIC)
        assert ET.parse(tmp_path / "a" / plot.files["svg"]).getroot().tag.endswith("svg")
    assert "SSL extraction is its own bottom segment" in by_name["rtf-crafted-en"].caption
    again = write_plots(summary, tmp_path / "b")
    for first, second in zip(drawn, [p for p in again if not p.skipped], strict=True):
        for fmt in ("png", "svg"):
            a, b = tmp_path / "a" / first.files[fmt], tmp_path / "b" / second.files[fmt]
            assert a.read_bytes() == b.read_bytes(), f"{a.name} differs on a rerun"


def test_plots_of_a_real_run(small_run, tmp_path):
    summary = open_run(small_run).summary
    plots = write_plots(summary, tmp_path)
    assert [p.skipped for p in plots] == [None] * len(plots)
    assert {p.name for p in plots} >= {"pesq-wb-vs-bitrate-synthetic-en", "stoi-vs-bitrate-synthetic-en"}
    lines = labelled_lines(wer_vs_depth(summary, "synthetic-en"))
    dac = summary[summary["codec"] == "dac-mini"].sort_values("depth")
    np.testing.assert_allclose(lines["dac-mini"].get_ydata(), 100 * dac["wer"].to_numpy())
    assert set(lines) == {"dac-mini", "g722", FLOOR_LABEL}
