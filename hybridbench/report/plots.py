"""The report's figures, drawn from a run's summary frame (`RunResults.summary`: one line per suite, codec and
depth), so a notebook draws the same figure as the report:

    from hybridbench.results import open_run
    from hybridbench.report import plots
    fig = plots.wer_vs_depth(open_run("runs/x").summary, "librispeech-test-clean")

Each builder returns a matplotlib Figure (made without pyplot, so no global state and no display needed) or
raises CannotPlot with the reason when the frame holds nothing to draw. `write_plots` draws every figure of
every suite as PNG and SVG under `<out>/plots/`; a figure the data cannot make is returned with its reason
(`Plot.skipped`) and logged, never dropped silently. Files are byte-for-byte reproducible: fixed SVG hash salt,
no creation date, no software version in the metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS
from hybridbench.report.page import Plot
from hybridbench.report.paper_tables import FLOOR_LABEL, METRIC_FAMILIES, metric_column_label
from hybridbench.run_plan import REFERENCE_CODEC

log = logging.getLogger(__name__)

PLOTS_DIR = "plots"
INTERVAL = "95 % BCa bootstrap interval over items"
# Same bytes on every rerun: SVG ids are hashed with this salt, and no date or version is embedded.
DETERMINISTIC_RC = {"svg.hashsalt": "hybridbench", "svg.fonttype": "path", "path.simplify": False}
METADATA = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}


class CannotPlot(HybridbenchError):
    """The summary holds nothing this figure can show (e.g. no metric scored); the message says why."""


# ---- the frame ------------------------------------------------------------------------------------------------


def suite_rows(summary: pd.DataFrame, suite: str) -> pd.DataFrame:
    """One suite's lines, sorted by codec order of appearance and depth."""
    if summary.empty or "suite" not in summary or suite not in set(summary["suite"]):
        found = ", ".join(dict.fromkeys(summary.get("suite", []))) or "none"
        raise CannotPlot(f"suite {suite!r} is not in the summary", f"suites there: {found}")
    rows = summary[summary["suite"] == suite]
    order = {codec: i for i, codec in enumerate(dict.fromkeys(rows["codec"]))}
    return (
        rows.assign(_order=rows["codec"].map(order)).sort_values(["_order", "depth"]).drop(columns="_order")
    )


def codec_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The codecs' lines, without the original audio (the ASR floor, not a codec)."""
    return rows[rows["codec"] != REFERENCE_CODEC]


def floor_wer(rows: pd.DataFrame) -> float | None:
    """The ASR's corpus WER on the original audio, if the run has the identity codec."""
    floor = rows[(rows["codec"] == REFERENCE_CODEC) & rows.get("wer", pd.Series(dtype=float)).notna()]
    return float(floor["wer"].iloc[0]) if len(floor) else None


def codec_colours(summary: pd.DataFrame) -> dict[str, str]:
    """The same colour for a codec in every figure: tab10 in order of appearance in the summary."""
    codecs = [c for c in dict.fromkeys(summary.get("codec", [])) if c != REFERENCE_CODEC]
    palette = [mcolors.to_hex(c) for c in mcolors.TABLEAU_COLORS.values()]
    return {codec: palette[i % len(palette)] for i, codec in enumerate(codecs)}


def require(rows: pd.DataFrame, column: str, what: str) -> pd.DataFrame:
    """The lines where `column` has a value; CannotPlot when none does."""
    if column not in rows or rows[column].notna().sum() == 0:
        raise CannotPlot(f"no {what} in the summary", "the run did not score it, or every item failed")
    return rows[rows[column].notna()]


def rtf_total(rows: pd.DataFrame) -> pd.Series:
    """Encode + decode real-time factor of each line."""
    return rows["rtf_encode"] + rows["rtf_decode"]


# ---- the figures -----------------------------------------------------------------------------------------------


def new_axes(title: str, *, size: tuple[float, float] = (6.4, 4.2)):
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig, ax


def draw_floor(ax, rows: pd.DataFrame) -> None:
    floor = floor_wer(rows)
    if floor is not None:
        ax.axhline(100 * floor, color="black", linestyle="--", linewidth=1, label=FLOOR_LABEL)


def draw_interval(ax, x, lines: pd.DataFrame, key: str, scale: float, colour: str) -> None:
    """Shade the 95 % interval where it exists (it does not where fewer than two items were scored)."""
    low, high = lines.get(f"{key}_low"), lines.get(f"{key}_high")
    if low is None or high is None or low.notna().sum() == 0:
        return
    ax.fill_between(
        np.asarray(x, dtype=float),
        scale * low.to_numpy(dtype=float),
        scale * high.to_numpy(dtype=float),
        color=colour,
        alpha=0.2,
        linewidth=0,
    )


def wer_vs_depth(summary: pd.DataFrame, suite: str) -> Figure:
    """WER (%) against depth, one line per codec with its interval band, the ASR floor dashed."""
    rows = suite_rows(summary, suite)
    codecs = require(codec_rows(rows), "wer", "codec WER")
    colours = codec_colours(summary)
    fig, ax = new_axes(f"{suite}: WER by depth")
    for codec, lines in codecs.groupby("codec", sort=False):
        colour = colours[codec]
        ax.plot(lines["depth"], 100 * lines["wer"], marker="o", color=colour, label=codec)
        draw_interval(ax, lines["depth"], lines, "wer", 100, colour)
    draw_floor(ax, rows)
    ax.set_xticks(sorted({int(d) for d in codecs["depth"]}))
    ax.set_xlabel("depth k (codebooks 1..k)")
    ax.set_ylabel("WER %")
    ax.legend(fontsize=8)
    return fig


def bitrate_axis(ax: Axes) -> None:
    """A log kbit/s axis labelled in plain numbers (0.3, 1, 3), not powers of ten: bitrates span about one
    decade, where matplotlib's default log labels (3x10^-1) crowd into each other."""
    ax.set_xscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
    ax.set_xlabel("bitrate kbit/s (log)")


def wer_vs_bitrate(summary: pd.DataFrame, suite: str) -> Figure:
    """WER (%) against kbps (log axis), every evaluated depth of a codec joined in order of depth."""
    rows = suite_rows(summary, suite)
    codecs = require(require(codec_rows(rows), "wer", "codec WER"), "kbps", "bitrate")
    colours = codec_colours(summary)
    fig, ax = new_axes(f"{suite}: WER by bitrate")
    for codec, lines in codecs.groupby("codec", sort=False):
        colour = colours[codec]
        ax.plot(lines["kbps"], 100 * lines["wer"], marker="o", color=colour, label=codec)
        draw_interval(ax, lines["kbps"], lines, "wer", 100, colour)
        label_depths(ax, lines, "wer", 100)
    draw_floor(ax, rows)
    bitrate_axis(ax)
    ax.set_ylabel("WER %")
    ax.legend(fontsize=8)
    return fig


def label_depths(ax, lines: pd.DataFrame, key: str, scale: float) -> None:
    for kbps, y, depth in zip(lines["kbps"], lines[key], lines["depth"], strict=True):
        ax.annotate(f"{int(depth)}", (kbps, scale * y), textcoords="offset points", xytext=(3, 3), fontsize=7)


def metric_vs_bitrate(summary: pd.DataFrame, suite: str, metric: str) -> Figure:
    """A signal metric's mean (with its interval) against kbps (log axis) at the depths where it was scored."""
    rows = suite_rows(summary, suite)
    label = metric_column_label(metric)
    codecs = require(codec_rows(rows), metric, f"{label} score")
    colours = codec_colours(summary)
    fig, ax = new_axes(f"{suite}: {label} by bitrate")
    for codec, lines in codecs.groupby("codec", sort=False):
        colour = colours[codec]
        ax.plot(lines["kbps"], lines[metric], marker="o", color=colour, label=codec)
        draw_interval(ax, lines["kbps"], lines, metric, 1, colour)
        label_depths(ax, lines, metric, 1)
    bitrate_axis(ax)
    arrow = "↑" if METRICS.get(metric).spec.higher_is_better else "↓"
    ax.set_ylabel(f"{label} {arrow}")
    ax.legend(fontsize=8)
    return fig


def top_depth_rows(codecs: pd.DataFrame) -> pd.DataFrame:
    """Each codec's line at its highest evaluated depth."""
    return (
        codecs.sort_values("depth")
        .groupby("codec", sort=False)
        .tail(1)
        .set_index("codec")
        .loc[list(dict.fromkeys(codecs["codec"]))]
    )


def rtf_bars(summary: pd.DataFrame, suite: str) -> Figure:
    """Encode and decode real-time factor stacked, one bar per codec at its highest evaluated depth."""
    rows = suite_rows(summary, suite)
    codecs = require(require(codec_rows(rows), "rtf_encode", "encode timing"), "rtf_decode", "decode timing")
    top = top_depth_rows(codecs)
    fig, ax = new_axes(f"{suite}: real-time factor")
    x = np.arange(len(top))
    ssl = top["rtf_ssl"].fillna(0.0) if "rtf_ssl" in top else pd.Series(0.0, index=top.index)
    if ssl.gt(0).any():  # codecs that run an SSL model at inference and time it apart: its share of encode
        ax.bar(x, ssl, color="#76b7b2", label="SSL extraction (part of encode)")
    ax.bar(
        x,
        top["rtf_encode"] - ssl,
        bottom=ssl,
        color="#4e79a7",
        label="encode" + (" (rest)" if ssl.gt(0).any() else ""),
    )
    ax.bar(x, top["rtf_decode"], bottom=top["rtf_encode"], color="#f28e2b", label="decode")
    ax.set_xticks(x, [f"{codec}\n(depth {int(d)})" for codec, d in zip(top.index, top["depth"], strict=True)])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("RTF (processing s / audio s) ↓")
    ax.legend(fontsize=8)
    return fig


def pareto_front(frame: pd.DataFrame, objectives: tuple[str, ...] = ("wer", "kbps")) -> pd.DataFrame:
    """The lines no other line beats: none has every objective lower or equal and one strictly lower (all
    objectives are minimised). Sorted by the last objective, then the others (for two: along the front)."""
    values = frame[list(objectives)].to_numpy(dtype=float)
    dominated = [bool(np.any(np.all(values <= p, axis=1) & np.any(values < p, axis=1))) for p in values]
    return frame[~np.array(dominated, dtype=bool)].sort_values(list(objectives[::-1]))


def scatter_by_speed(fig: Figure, ax, points: pd.DataFrame) -> None:
    """WER against kbps coloured by RTF (log colour scale, with its bar)."""
    if points.empty:
        return
    norm = mcolors.LogNorm(points["rtf"].min(), points["rtf"].max())
    scatter = ax.scatter(
        points["kbps"], 100 * points["wer"], c=points["rtf"], cmap="viridis", norm=norm, s=36
    )
    fig.colorbar(scatter, ax=ax, label="RTF encode + decode (log) ↓")


def pareto_plot(summary: pd.DataFrame, suite: str) -> Figure:
    """WER against kbps for every (codec, depth), coloured by RTF; the WER/bitrate front joined and labelled,
    points also optimal when speed counts ringed."""
    rows = suite_rows(summary, suite)
    points = require(require(codec_rows(rows), "wer", "codec WER"), "kbps", "bitrate")
    points = points.assign(rtf=rtf_total(points) if {"rtf_encode", "rtf_decode"} <= set(points) else np.nan)
    fig, ax = new_axes(f"{suite}: WER, bitrate and speed")
    timed = points["rtf"].notna() & (points["rtf"] > 0)
    scatter_by_speed(fig, ax, points[timed])
    if (~timed).any():  # drawn apart: a colour map shows a missing value as transparent
        untimed = points[~timed]
        ax.scatter(untimed["kbps"], 100 * untimed["wer"], color="grey", s=36, label="RTF not available")
    front = pareto_front(points, ("wer", "kbps"))
    ax.plot(front["kbps"], 100 * front["wer"], color="black", linewidth=1, label="WER/bitrate front")
    for _, p in front.iterrows():
        ax.annotate(
            f"{p['codec']}@{int(p['depth'])}",
            (p["kbps"], 100 * p["wer"]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
        )
    if timed.all():
        fast = pareto_front(points, ("wer", "kbps", "rtf"))
        ax.scatter(
            fast["kbps"],
            100 * fast["wer"],
            facecolors="none",
            edgecolors="red",
            s=110,
            label="optimal with speed",
        )
    draw_floor(ax, rows)
    bitrate_axis(ax)
    ax.set_ylabel("WER %")
    ax.legend(fontsize=8)
    return fig


# ---- writing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotSpec:
    """One figure of a suite: its file stem, how to draw it and what its caption says."""

    name: str
    title: str
    draw: Callable[[pd.DataFrame, str], Figure]
    caption: str


def plot_specs(summary: pd.DataFrame, suite: str) -> list[PlotSpec]:
    """Every figure of one suite, in the report's order."""
    specs = [
        PlotSpec(
            f"wer-vs-depth-{suite}",
            f"{suite}: WER by depth",
            wer_vs_depth,
            f"Corpus WER (%) on {suite} against depth k (decoded from the first k codebooks; for a simulcast "
            f"codec, operating point k), one line per codec; shaded: {INTERVAL}; dashed: the ASR's WER on the "
            "original audio (the floor).",
        ),
        PlotSpec(
            f"wer-vs-bitrate-{suite}",
            f"{suite}: WER by bitrate",
            wer_vs_bitrate,
            f"Corpus WER (%) on {suite} against bitrate (kbit/s, log axis) at every evaluated depth (numbers: "
            f"depth k), a codec's depths joined; shaded: {INTERVAL}; dashed: the ASR floor.",
        ),
    ]
    for metric in signal_metrics_to_plot(summary):
        label = metric_column_label(metric)
        specs.append(
            PlotSpec(
                f"{metric}-vs-bitrate-{suite}",
                f"{suite}: {label} by bitrate",
                lambda frame, s, metric=metric: metric_vs_bitrate(frame, s, metric),
                f"{label} (mean over the items it scored) on {suite} against bitrate (kbit/s, log axis) at the "
                f"depths where it was scored (numbers: depth k); shaded: {INTERVAL}.",
            )
        )
    specs += [
        PlotSpec(
            f"rtf-{suite}",
            f"{suite}: real-time factor",
            rtf_bars,
            f"Real-time factor (processing seconds / audio seconds; lower is faster) on {suite} at each codec's "
            "highest evaluated depth: encode (bottom) and decode (top) stacked. For a codec that runs an SSL "
            "model at inference and can time it apart (DualCodec designs), encode's SSL extraction is its own "
            "bottom segment; other SSL-running codecs have it inside encode.",
        ),
        PlotSpec(
            f"pareto-{suite}",
            f"{suite}: WER, bitrate and speed",
            pareto_plot,
            f"Every (codec, depth) on {suite}: WER (%) against bitrate (kbit/s, log axis), colour: RTF encode + "
            "decode (log). Joined and labelled codec@depth: the points no other beats on both WER and bitrate "
            "(the Pareto front); red rings: the points no other beats on WER, bitrate and RTF together. "
            "Dashed: the ASR floor.",
        ),
    ]
    return specs


def signal_metrics_to_plot(summary: pd.DataFrame) -> list[str]:
    """PESQ and STOI family metrics present in the summary (their columns exist, scored or not)."""
    families = dict(METRIC_FAMILIES)
    prefixes = families["PESQ"] + families["STOI"]
    known = set(METRICS.names())
    return [c for c in summary.columns if c in known and c.startswith(prefixes)]


def save_figure(fig: Figure, out_dir: Path, name: str) -> dict[str, Path]:
    """Write `plots/<name>.png` and `.svg` under out_dir; return the paths relative to out_dir."""
    folder = Path(out_dir) / PLOTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    with rc_context(DETERMINISTIC_RC):
        for fmt in ("png", "svg"):
            relative = Path(PLOTS_DIR) / f"{name}.{fmt}"
            fig.savefig(Path(out_dir) / relative, format=fmt, metadata=METADATA[fmt])
            files[fmt] = relative
    return files


def write_plots(summary: pd.DataFrame, out_dir: Path) -> list[Plot]:
    """Draw every figure of every suite in `summary` under out_dir/plots/. A figure the data cannot make comes
    back with `skipped` set to the reason (and is logged), so the report can say why it is missing."""
    plots = []
    for suite in dict.fromkeys(summary.get("suite", [])):
        for spec in plot_specs(summary, suite):
            plot = Plot(spec.name, spec.title, spec.caption, suite)
            try:
                with rc_context(DETERMINISTIC_RC):
                    fig = spec.draw(summary, suite)
            except CannotPlot as exc:
                plot.skipped = exc.message
                log.warning("plot %s not drawn: %s", spec.name, exc.message)
            else:
                plot.files = save_figure(fig, out_dir, spec.name)
            plots.append(plot)
    return plots
