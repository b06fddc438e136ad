"""Report tables per suite, in Markdown (for reading) and CSV (for tools).

`summary-<suite>`: one row per codec: WER at each requested depth, then the figures at the codec's highest
evaluated depth (bitrate, CER, PESQ, STOI, decode RTF) and encode RTF. `depths-<suite>`: one row per
(codec, depth) with every aggregate and its counts. `items-<suite>.csv`: every item, raw and normalized
transcripts, edit counts and scores, so anyone can recompute or rescore without running a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from hybridbench.report.aggregate import item_frame, per_codec, summarize
from hybridbench.store import ResultRow


def format_pct(x: Any) -> str:
    return "—" if x is None or pd.isna(x) else f"{100 * x:.1f}"


def format_num(x: Any, digits: int = 3) -> str:
    return "—" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def _missing(x: Any) -> bool:
    return x is None or pd.isna(x)


def format_with_ci(rec: dict[str, Any], key: str, *, pct: bool, digits: int = 3) -> str:
    """`value [low, high]`, the 95 % interval over items; the value alone when no interval exists."""
    fmt = format_pct if pct else (lambda v: format_num(v, digits))
    value, low, high = (
        rec.get(key),
        rec.get(f"{key}_low"),
        rec.get(f"{key}_high"),
    )
    if _missing(value):
        return "—"
    if _missing(low) or _missing(high):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


# Short column labels for metrics whose registered names are long.
_SHORT = {
    "speaker-sim-resemblyzer": "SPK-SIM",
    "speaker-sim-wavlm": "SPK-SIM-WAVLM",
    "mel-distance": "MEL-DIST",
}


def metric_label(name: str) -> str:
    """Column label with the metric's direction: ↑ higher is better, ↓ lower is better."""
    arrow = "↑" if _spec(name).higher_is_better else "↓"
    return f"{_SHORT.get(name, name).upper()} {arrow}"


def metric_cells(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Each metric's mean with its interval, and over how many items when some could not be scored."""
    cells = []
    for name in names:
        cell = format_with_ci(rec, name, pct=False)
        if rec.get(f"{name}_failed"):
            cell += f" (n={rec[f'{name}_n']})"
        cells.append(cell)
    return cells


def metric_definitions(names: list[str]) -> str:
    """One line per metric: what it is and which implementation and version computed it."""
    lines = []
    for name in names:
        spec = _spec(name)
        unit = f" [{spec.unit}]" if spec.unit else ""
        lines.append(f"- `{name}`{unit}: {spec.description} ({spec.version}; at {spec.sample_rate} Hz)")
    return "\n".join(lines)


def _spec(name: str):
    from hybridbench.metrics import METRICS

    return METRICS.get(name).spec


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_tables(
    rows: list[ResultRow],
    out_dir: Path,
    *,
    depths: list[int],
    metric_names: list[str],
    context: dict[str, Any],
) -> list[Path]:
    """Write the three tables for every suite found in `rows`; return the Markdown summary paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not rows:
        return []
    items = item_frame(rows)
    summary = summarize(items, metric_names)
    written = []
    for suite, suite_items in items.groupby("suite", sort=False):
        suite_summary = summary[summary["suite"] == suite]
        suite_items.to_csv(out_dir / f"items-{suite}.csv", index=False)
        suite_summary.to_csv(out_dir / f"depths-{suite}.csv", index=False)
        codec_rows = per_codec(suite_summary, depths)
        pd.DataFrame.from_records(
            [_codec_record(codec, rec, depths, metric_names) for codec, rec in codec_rows.items()]
        ).to_csv(out_dir / f"summary-{suite}.csv", index=False)
        normalizers = sorted(set(suite_items.get("normalizer", pd.Series(dtype=str)).dropna()))
        md = "\n\n".join(
            [
                f"# {suite}",
                _context_lines(
                    context, suite, normalizers, rtf_batch_phrase(r for r in rows if r.suite == suite)
                ),
                "## By codec",
                _by_codec_table(codec_rows, depths, metric_names),
                "Brackets: 95 % BCa bootstrap interval over items (10,000 resamples, seed 0). "
                "WER@k: decoded from the first k codebooks; — where a codec has fewer codebooks or k was not run. "
                "`depth` is the codec's highest evaluated depth, at which kbps, CER, signal metrics and RTF dec are "
                "given. A metric followed by (n=...) could not score every item; its mean is over n items.",
                "## By depth",
                _by_depth_table(suite_summary, metric_names),
                "## Metrics",
                metric_definitions(metric_names),
                "",
            ]
        )
        path = out_dir / f"summary-{suite}.md"
        path.write_text(md, encoding="utf-8")
        written.append(path)
    return written


def _by_codec_table(codec_rows: dict[str, dict[str, Any]], depths: list[int], metric_names: list[str]) -> str:
    """One row per codec: WER at each requested depth, the rest at its highest depth."""
    header = ["codec", *[f"WER@{d} %" for d in depths], "depth", "kbps", "CER %"]
    header += [metric_label(name) for name in metric_names]
    header += ["RTF enc", "RTF dec", "items", "failed"]
    rows = []
    for codec, rec in codec_rows.items():
        top = rec["top"]
        rows.append(
            [
                codec,
                *[format_with_ci(rec[f"WER@{d}"], "wer", pct=True) for d in depths],
                str(top["depth"]),
                format_num(top.get("kbps"), 2),
                format_with_ci(top, "cer", pct=True),
                *metric_cells(top, metric_names),
                format_num(top.get("rtf_encode"), 4),
                format_num(top.get("rtf_decode"), 4),
                str(top["items"]),
                str(top["failed"]),
            ]
        )
    return markdown_table(header, rows)


def _codec_record(
    codec: str, rec: dict[str, Any], depths: list[int], metric_names: list[str]
) -> dict[str, Any]:
    """The by-codec table's row as numbers (summary-<suite>.csv)."""
    top = rec["top"]
    return {
        "codec": codec,
        **{f"wer@{d}": rec[f"WER@{d}"].get("wer") for d in depths},
        **{f"wer@{d}_low": rec[f"WER@{d}"].get("wer_low") for d in depths},
        **{f"wer@{d}_high": rec[f"WER@{d}"].get("wer_high") for d in depths},
        "depth": top["depth"],
        "kbps": top.get("kbps"),
        "cer": top.get("cer"),
        **{n: top.get(n) for n in metric_names},
        "rtf_encode": top.get("rtf_encode"),
        "rtf_decode": top.get("rtf_decode"),
        "items": top["items"],
        "failed": top["failed"],
    }


def _by_depth_table(suite_summary: pd.DataFrame, metric_names: list[str]) -> str:
    """One row per (codec, depth) with every aggregate."""
    header = ["codec", "depth", "kbps", "WER %", "mean utt. WER %", "CER %"]
    header += [metric_label(name) for name in metric_names] + ["RTF dec", "items", "failed"]
    rows = [
        [
            r["codec"],
            str(r["depth"]),
            format_num(r.get("kbps"), 2),
            format_with_ci(r, "wer", pct=True),
            format_pct(r.get("wer_utterance_mean")),
            format_with_ci(r, "cer", pct=True),
            *[format_with_ci(r, n, pct=False) for n in metric_names],
            format_num(r.get("rtf_decode"), 4),
            str(r["items"]),
            str(r["failed"]),
        ]
        for r in suite_summary.to_dict("records")
    ]
    return markdown_table(header, rows)


def rtf_batch_phrase(rows: Iterable[ResultRow]) -> str:
    """How the timed codec calls were batched, for an RTF note: 'batch size 1', or 'batch N' when a run batched
    items (--batch-items), whose rows record their batch size and carry their batch's time by audio share."""
    sizes = {int(r.payload.get("batch_size", 1)) for r in rows if r.status == "ok"}
    if sizes <= {1}:
        return "batch size 1"
    largest = max(sizes)
    return (
        f"batch {largest}" if sizes == {largest} else f"batch up to {largest}"
    ) + " (a row's time is its batch's, shared by audio samples)"


def _context_lines(context: dict[str, Any], suite: str, normalizers: list[str], batch: str) -> str:
    asr = context.get("asr", {}).get(suite, {})
    lines = [
        f"- ASR: `{asr.get('name', '?')}` (beam {asr.get('beam_size', '?')}, temperature "
        f"{asr.get('temperature', '?')}, language forced); normalizer: {', '.join(normalizers) or '?'}",
        "- WER/CER: corpus rates (summed edits / summed reference words or characters), in %.",
        "- Signal metrics at 16 kHz against the original (PESQ-WB: ITU-T P.862.2 wideband).",
        f"- RTF = processing seconds / audio seconds, median of {context.get('timing_repeats', '?')} timed runs "
        f"after warm-up, {batch}, device {context.get('device_name', '?')} ({context.get('device', '?')}), "
        "each codec at its own precision (see provenance.json); encode and decode separately, encode including "
        "any SSL model the codec runs.",
        f"- Code: {context.get('git', '?')}; run folder: `{context.get('out', '?')}`.",
    ]
    return "\n".join(lines)
