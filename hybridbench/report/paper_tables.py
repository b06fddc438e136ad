"""One suite's results in a paper's layout: one row per codec (the original audio first, as the ASR floor), WER
at RVQ-1 and at the cumulative depths 1:k, then signal metrics, speed and bitrate at each codec's full depth.

Every cell is a number with its 95 % interval and the count of items behind it, so a reader sees how much the
ranking can be trusted; the best codec per column is marked, never the floor (the original audio is the
reference, not a contestant). The same table is written three ways: Markdown to read, CSV (numbers only, as
fractions like `RunResults.summary`) for tools, LaTeX (booktabs) to paste into a paper.

    from hybridbench.results import open_run
    table = paper_table(open_run("runs/x"), "librispeech-test-clean")
    write_paper_table(table, Path("report"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS
from hybridbench.report.page import PaperTable
from hybridbench.report.tables import format_num, format_pct, rtf_batch_phrase
from hybridbench.results import RunResults
from hybridbench.run_plan import REFERENCE_CODEC

FLOOR_LABEL = "original (ASR floor)"
MISSING = "—"

# The paper's metric columns, in its order: a run's metrics are placed by family (a prefix of their name).
METRIC_FAMILIES = (
    ("PESQ", ("pesq-",)),
    ("STOI", ("stoi", "estoi")),
    ("speaker similarity", ("speaker-sim-",)),
    ("MOS estimate", ("utmos", "dnsmos-")),
)


@dataclass(frozen=True)
class Column:
    """One column of the table: where its numbers come from in the summary and how to show and rank them."""

    label: str
    key: str  # summary column of the value (its interval is `<key>_low` / `<key>_high`)
    kind: str  # "wer", "metric", "rtf", "kbps", "depth"
    depth: int | None = None  # WER columns: the depth; the others: each codec's highest evaluated depth
    lower_is_better: bool | None = None  # None: not a score, never marked best

    @property
    def ranked(self) -> bool:
        return self.lower_is_better is not None


# ---- building the table -----------------------------------------------------------------------------------


def paper_table(run: RunResults, suite: str, depths: list[int] | None = None) -> PaperTable:
    """The paper-layout table of `suite`: WER at RVQ-1 and 1:k for `depths` (default: every depth run on the
    suite), then PESQ, STOI, speaker similarity, MOS estimates, RTF and kbps at each codec's full depth."""
    summary = suite_summary(run, suite)
    depths = choose_depths(summary, suite, depths)
    columns = table_columns(depths, [m for m in run.metric_names if m in summary.columns])
    rows = ordered_rows(summary)
    values = pd.DataFrame(
        [row_values(rows[label], columns) for label in rows], index=pd.Index(list(rows), name="codec")
    )
    display = pd.DataFrame(
        [[format_cell(values.loc[label], col) for col in columns] for label in rows],
        index=values.index,
        columns=[c.label for c in columns],
    )
    # Numbers only: floats (NaN where missing), counts and depths as integers.
    counts = [c for c in values.columns if c.endswith(" n") or c == "depth"]
    values = values.astype({c: "Int64" if c in counts else "float64" for c in values.columns})
    return PaperTable(
        suite=suite,
        title=f"{suite}: WER by RVQ depth, quality, speed and bitrate",
        values=values,
        display=display,
        best=best_cells(values, columns),
        notes=table_notes(run, suite, summary),
    )


def suite_summary(run: RunResults, suite: str) -> pd.DataFrame:
    """The run's per-(codec, depth) aggregates of one suite; an unknown suite is the user's mistake."""
    summary = run.summary
    if summary.empty or suite not in set(summary["suite"]):
        found = ", ".join(run.suites) or "none"
        raise HybridbenchError(f"suite {suite!r} is not in this run", f"choose one of: {found}")
    return summary[summary["suite"] == suite].reset_index(drop=True)


def choose_depths(summary: pd.DataFrame, suite: str, depths: list[int] | None) -> list[int]:
    """The WER columns' depths: the ones asked for, each run by some codec, or every depth a codec was run at."""
    codecs = summary[summary["codec"] != REFERENCE_CODEC]
    available = sorted({int(d) for d in codecs["depth"]})
    if not available:
        raise HybridbenchError(
            f"{suite} has only the original audio in this run", "run at least one codec on it"
        )
    if depths is None:
        return available
    unknown = [d for d in depths if d not in available]
    if unknown:
        raise HybridbenchError(
            f"depth {unknown[0]} was not run on {suite}", f"choose from {', '.join(map(str, available))}"
        )
    return sorted(set(depths))


def table_columns(depths: list[int], metric_names: list[str]) -> list[Column]:
    wer = [Column(wer_label(d), "wer", "wer", depth=d, lower_is_better=True) for d in depths]
    metrics = [
        Column(
            metric_column_label(name),
            name,
            "metric",
            lower_is_better=not METRICS.get(name).spec.higher_is_better,
        )
        for name in paper_metrics(metric_names)
    ]
    return [
        *wer,
        Column("depth", "depth", "depth"),
        *metrics,
        Column("RTF", "rtf", "rtf", lower_is_better=True),
        Column("kbps", "kbps", "kbps"),
    ]


def wer_label(depth: int) -> str:
    """RVQ-1 is the first codebook alone; `1:k` the first k codebooks together (the paper's notation)."""
    return "WER RVQ-1" if depth == 1 else f"WER 1:{depth}"


def paper_metrics(metric_names: list[str]) -> list[str]:
    """The run's metrics that belong in the paper's columns, in the paper's order."""
    chosen = []
    for _, prefixes in METRIC_FAMILIES:
        chosen += [m for m in metric_names if m.startswith(prefixes) and m not in chosen]
    return chosen


def other_metrics(metric_names: list[str]) -> list[str]:
    chosen = paper_metrics(metric_names)
    return [m for m in metric_names if m not in chosen]


def metric_column_label(name: str) -> str:
    """PESQ's band from its name (PESQ-WB, PESQ-NB); speaker similarity with the embedding model that scored it."""
    if name.startswith("speaker-sim-"):
        return f"SIM ({name.removeprefix('speaker-sim-')})"
    return name.upper()


def ordered_rows(summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Row label -> that codec's summary lines sorted by depth; the ASR floor first, then codecs as run."""
    rows = {}
    for codec, group in summary.groupby("codec", sort=False):
        label = FLOOR_LABEL if codec == REFERENCE_CODEC else str(codec)
        rows[label] = group.sort_values("depth").reset_index(drop=True)
    floor = {FLOOR_LABEL: rows.pop(FLOOR_LABEL)} if FLOOR_LABEL in rows else {}
    return floor | rows


def is_floor(label: str) -> bool:
    return label == FLOOR_LABEL


def row_values(lines: pd.DataFrame, columns: list[Column]) -> dict[str, Any]:
    """One codec's numbers: `<label>`, `<label> low`, `<label> high`, `<label> n` per column."""
    top = lines.iloc[-1].to_dict()  # the highest evaluated depth
    out: dict[str, Any] = {}
    for col in columns:
        out |= cell_values(lines, top, col)
    return out


def cell_values(lines: pd.DataFrame, top: dict[str, Any], col: Column) -> dict[str, Any]:
    if col.kind == "wer":
        # The original audio has no depth: its one WER is the floor of every WER column.
        floor = lines["codec"].iloc[0] == REFERENCE_CODEC
        hit = lines if floor else lines[lines["depth"] == col.depth]
        rec = hit.iloc[0].to_dict() if len(hit) else {}
        return numbers(col.label, rec.get("wer"), rec.get("wer_low"), rec.get("wer_high"), scored_items(rec))
    if col.kind == "metric":
        return numbers(
            col.label,
            top.get(col.key),
            top.get(f"{col.key}_low"),
            top.get(f"{col.key}_high"),
            top.get(f"{col.key}_n"),
        )
    if col.kind == "rtf":
        encode, decode = none_if_missing(top.get("rtf_encode")), none_if_missing(top.get("rtf_decode"))
        rtf = None if encode is None or decode is None else encode + decode
        return numbers(col.label, rtf, None, None, scored_items(top) if rtf is not None else None)
    return {col.label: none_if_missing(top.get(col.key))}  # depth, kbps: facts, not estimates


def numbers(label: str, value: Any, low: Any, high: Any, n: Any) -> dict[str, Any]:
    return {
        label: none_if_missing(value),
        f"{label} low": none_if_missing(low),
        f"{label} high": none_if_missing(high),
        f"{label} n": None if none_if_missing(n) is None else int(n),
    }


def scored_items(rec: dict[str, Any]) -> int | None:
    """Items behind a WER or RTF: the rows that succeeded (failed rows are counted apart, never scored)."""
    if not rec or none_if_missing(rec.get("wer")) is None:
        return None
    return int(rec["items"]) - int(rec["failed"])


def none_if_missing(x: Any) -> Any:
    return None if x is None or pd.isna(x) else x


# ---- formatting ---------------------------------------------------------------------------------------------


def format_cell(row: pd.Series, col: Column) -> str:
    """`value [low, high] n=N` (WER in %); the value alone where no interval exists; — where nothing was run."""
    value = none_if_missing(row.get(col.label))
    if value is None:
        return MISSING
    if col.kind == "depth":
        return str(int(value))
    if col.kind == "kbps":
        return format_num(value, 2)
    fmt = cell_formatter(col)
    text = fmt(value)
    low, high = none_if_missing(row.get(f"{col.label} low")), none_if_missing(row.get(f"{col.label} high"))
    if low is not None and high is not None:
        text += f" [{fmt(low)}, {fmt(high)}]"
    n = none_if_missing(row.get(f"{col.label} n"))
    if n is not None:
        text += f" n={int(n)}"
    return text


def cell_formatter(col: Column):
    if col.kind == "wer":
        return format_pct
    if col.kind == "rtf":
        return lambda v: format_num(v, 4)
    return lambda v: format_num(v, 3 if abs(v) < 10 else 2)


def best_cells(values: pd.DataFrame, columns: list[Column]) -> set[tuple[str, str]]:
    """Per ranked column, the codec rows holding the best value (all of them on a tie); never the ASR floor."""
    best: set[tuple[str, str]] = set()
    contestants = [label for label in values.index if not is_floor(label)]
    for col in columns:
        if not col.ranked:
            continue
        scored = values.loc[contestants, col.label].dropna().astype(float)
        if scored.empty:
            continue
        target = scored.min() if col.lower_is_better else scored.max()
        best |= {(label, col.label) for label in scored.index[scored == target]}
    return best


# ---- notes ---------------------------------------------------------------------------------------------------


def table_notes(run: RunResults, suite: str, summary: pd.DataFrame) -> list[str]:
    """What the columns mean and how they were measured, so the table can be read on its own."""
    asr = run.asr(suite)
    normalizers = sorted(set(summary.get("normalizer", pd.Series(dtype=str)).dropna()))
    provenance, config = run.provenance, run.config
    notes = [
        f"WER in %: corpus rate (summed word edits / summed reference words) by ASR `{asr.get('name', '?')}` "
        f"({asr.get('model', '?')}), normalizer {', '.join(normalizers) or '?'}. RVQ-1: decoded from the first "
        "codebook alone; 1:k: from the first k codebooks. — where a codec has no such depth or it was not run.",
        "The original audio has no depth: its WER (the ASR floor) stands in every WER column. It is the "
        "reference, not a codec, and is never marked best.",
        "Cells: value [95 % BCa bootstrap interval over items, 10,000 resamples, seed 0] n=items scored; the "
        "value alone where fewer than two items were scored. Best per column in bold (ties: all): lowest WER "
        "and RTF, highest PESQ, STOI, speaker similarity and MOS (each metric's declared direction).",
        "PESQ, STOI, speaker similarity, MOS estimates, RTF and kbps are at each codec's highest evaluated depth "
        "(column `depth`); signal metrics at 16 kHz against the original.",
        f"RTF = (encode + decode seconds) / audio seconds, "
        f"{rtf_batch_phrase(r for r in run.rows if r.suite == suite)}, median of "
        f"{config.get('timing_repeats', '?')} timed runs after warm-up, on {provenance.get('device_name', '?')} "
        f"({provenance.get('device', '?')}); encode includes any SSL model the codec runs at inference.",
        "kbps: derived from the frame rate and the codebook sizes at that depth (not a score: not marked).",
    ]
    notes += depth_kind_notes(run, summary)
    extra = other_metrics([m for m in run.metric_names if m in summary.columns])
    if extra:
        notes.append(f"Also scored, not in this layout: {', '.join(extra)} (see summary-{suite}.md).")
    failed = int(summary["failed"].sum())
    if failed:
        notes.append(
            f"{failed} (codec, depth, item) rows failed and are left out of every number; see failures."
        )
    return notes


def depth_kind_notes(run: RunResults, summary: pd.DataFrame) -> list[str]:
    """Codecs whose depth k is a separate operating point, not the first k codebooks (simulcast codecs)."""
    notes = []
    for codec in dict.fromkeys(summary["codec"]):
        if run.codec_info(codec).get("depth_kind") == "operating-points":
            notes.append(f"{codec}: depth k is operating point k (a separate encoding), not codebooks 1..k.")
    return notes


# ---- writing ------------------------------------------------------------------------------------------------


def write_paper_table(table: PaperTable, out_dir: Path) -> PaperTable:
    """Write table-<suite>.md, .csv, .tex (a snippet to \\input) and table-<suite>-document.tex (the snippet in
    a minimal document that compiles on its own); fill `table.files` with paths relative to `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"table-{table.suite}"
    files = {
        "md": (f"{stem}.md", markdown(table)),
        "csv": (f"{stem}.csv", table.values.to_csv()),
        "tex": (f"{stem}.tex", latex(table)),
        "tex_document": (f"{stem}-document.tex", latex_document(f"{stem}.tex")),
    }
    for key, (name, text) in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        table.files[key] = Path(name)
    return table


def shown_cells(table: PaperTable, escape, mark) -> list[list[str]]:
    """Header and display rows (row label first), every cell escaped, the best cells then marked."""
    header = ["codec", *table.display.columns]
    rows = [
        [
            escape(label),
            *[
                mark(escape(text)) if (label, col) in table.best else escape(text)
                for col, text in row.items()
            ],
        ]
        for label, row in table.display.iterrows()
    ]
    return [[escape(h) for h in header], *rows]


def markdown(table: PaperTable) -> str:
    header, *rows = shown_cells(table, md_escape, lambda text: f"**{text}**")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    notes = "\n".join(f"- {note}" for note in table.notes)
    return f"# {table.title}\n\n" + "\n".join(lines) + f"\n\n{notes}\n"


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "—": "---",
    "–": "--",
    "↓": r"$\downarrow$",
    "↑": r"$\uparrow$",
}


def tex_escape(text: str) -> str:
    """Text safe inside a LaTeX tabular: specials escaped, the dashes and arrows this module writes translated."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def latex(table: PaperTable) -> str:
    """A table float with booktabs rules; needs \\usepackage{booktabs,graphicx} (graphicx for the width)."""
    ncols = len(table.display.columns)
    header, *rows = shown_cells(table, tex_escape, lambda text: r"\textbf{" + text + "}")
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{" + tex_escape(table.title) + r". WER in \%; cells: value [95\,\% interval] n=items.}",
        r"\label{tab:hybridbench-" + label_safe(table.suite) + "}",
        r"\resizebox{\linewidth}{!}{%",
        r"\begin{tabular}{l" + "r" * ncols + "}",
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(rows):
        lines.append(" & ".join(row) + r" \\")
        if i == 0 and is_floor(table.display.index[0]) and len(rows) > 1:
            lines.append(r"\midrule")  # the floor is the reference, set apart from the codecs
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""]
    return "\n".join(lines)


def label_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-:." else "-" for ch in text)


def latex_document(snippet_name: str) -> str:
    """A minimal document around the snippet, to check it compiles (and to print the table alone)."""
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage{booktabs}",
            r"\usepackage{graphicx}",
            r"\begin{document}",
            r"\input{" + snippet_name + "}",
            r"\end{document}",
            "",
        ]
    )
