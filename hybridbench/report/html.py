"""index.html: the report as one page a reviewer opens from the file system, with no server and no network.

Everything the page shows is in the report folder: the CSS is inline, images and audio are linked by relative
paths, and no script is needed (nothing is fetched from a CDN, no web font). Every text that comes from a run
(item texts, codec names, failure reasons) is escaped. Each numeric table cell carries the exact number it
shows in `data-value` (the same number as the table's CSV), so a test, or a reader's own script, can check the
page against the files beside it.

    write_index(Path("report"), page)   # -> report/index.html; audio outside the folder is copied into audio/
"""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from html import escape
from numbers import Integral, Number
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from hybridbench.listening import safe_name
from hybridbench.report.page import ListeningRow, PaperTable, Plot, ReportPage, TokenizerCard

INDEX_NAME = "index.html"
AUDIO_DIR = "audio"

# What a browser needs in <source type=...> to decide whether it can play a file without fetching it.
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
}

TABLE_FILE_LABELS = {"md": "Markdown", "csv": "CSV", "tex": "LaTeX", "tex_document": "LaTeX document"}
CARD_FILE_LABELS = {"md": "Markdown", "json": "JSON"}

# Failure reasons listed per (suite, codec, what, reason): past this many, the items are counted, not named.
ITEMS_NAMED_PER_REASON = 8

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 78rem;
       padding: 1rem 1.5rem 4rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
h3 { margin-top: 1.8rem; } nav a { margin-right: 1rem; } code { font-size: .92em; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; vertical-align: top; text-align: left; }
thead th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; }
td.best { font-weight: 700; background: #e5f4e3; }
.wide { overflow-x: auto; }
.files a { margin-right: .8rem; }
ul.notes { font-size: .9rem; color: #444; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1rem 1.5rem; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: .9rem; color: #444; }
.card { border: 1px solid #d0d0d0; border-radius: 6px; padding: .4rem 1rem 1rem; margin: 1rem 0; }
.clip { margin: 1.2rem 0 2rem; } .clip blockquote { margin: .3rem 0 .6rem; font-style: italic; }
.heard { font-size: .85em; color: #444; max-width: 22rem; }
audio { width: 15rem; display: block; }
.muted { color: #666; }
details { margin: .4rem 0; } summary { cursor: pointer; font-weight: 600; }
tbody th { white-space: nowrap; }
"""


# ---- writing --------------------------------------------------------------------------------------------------


def write_index(out_dir: Path, page: ReportPage) -> Path:
    """Write `out_dir/index.html` for `page` and return its path. Audio the page names outside `out_dir` is
    copied into `out_dir/audio/` first, so the folder can be moved or zipped as it is."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = replace(page, listening=copy_audio(page.listening, out_dir))
    path = out_dir / INDEX_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_page(page, out_dir), encoding="utf-8")
    tmp.replace(path)
    return path


def copy_audio(rows: list[ListeningRow], out_dir: Path) -> list[ListeningRow]:
    """The listening rows with every audio path relative to `out_dir`; files outside it are copied into
    audio/<suite>/<item>/ (original.<ext>, <codec>-d<depth>.<ext>). Rows already inside are left as they are."""
    out_dir = Path(out_dir)
    copied = []
    for row in rows:
        folder = Path(AUDIO_DIR) / safe_name(row.suite) / safe_name(row.item_id)
        original = None
        if row.original is not None:
            original = audio_in_report(row.original, out_dir, folder / f"original{row.original.suffix}")
        decoded = {
            (codec, depth): audio_in_report(
                path, out_dir, folder / f"{safe_name(codec)}-d{depth}{path.suffix}"
            )
            for (codec, depth), path in row.decoded.items()
        }
        copied.append(replace(row, original=original, decoded=decoded))
    return copied


def audio_in_report(path: Path, out_dir: Path, destination: Path) -> Path:
    """`path` relative to `out_dir`, copying it to `destination` (relative to `out_dir`) when it lies outside."""
    if not path.is_absolute():
        return path
    try:
        return path.resolve().relative_to(out_dir.resolve())
    except ValueError:
        target = out_dir / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return destination


# ---- the page -------------------------------------------------------------------------------------------------


SECTIONS = (
    ("tables", "Tables"),
    ("plots", "Plots"),
    ("cards", "Tokenizer cards"),
    ("listening", "Listening"),
    ("failures", "Failures"),
    ("provenance", "Provenance"),
)


def render_page(page: ReportPage, out_dir: Path) -> str:
    """The whole document; links are relative to `out_dir`, where index.html is written."""
    body = [
        f"<h1>{e(page.title)}</h1>",
        runs_line(page.runs),
        "<nav>" + "".join(f'<a href="#{key}">{e(title)}</a>' for key, title in SECTIONS) + "</nav>",
        tables_section(page.tables, page.protocols, out_dir),
        plots_section(page.plots, out_dir),
        cards_section(page.cards, page.cards_skipped, out_dir),
        listening_section(page.listening, out_dir),
        failures_section(page.failures),
        provenance_section(page.provenance),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def runs_line(runs: list[str]) -> str:
    listed = ", ".join(f"<code>{e(run)}</code>" for run in runs)
    return f'<p class="muted">From {"run" if len(runs) == 1 else "runs"} {listed}.</p>'


def section(key: str, body: list[str]) -> str:
    title = dict(SECTIONS)[key]
    return f'<section id="{key}">\n<h2>{e(title)}</h2>\n' + "\n".join(body) + "\n</section>"


# ---- tables ---------------------------------------------------------------------------------------------------


def tables_section(tables: list[PaperTable], protocols: dict[str, dict[str, Any]], out_dir: Path) -> str:
    if not tables:
        return section("tables", ['<p class="muted">No suite has results.</p>'])
    return section(
        "tables", [paper_table_html(table, protocols.get(table.suite), out_dir) for table in tables]
    )


def paper_table_html(table: PaperTable, protocol: dict[str, Any] | None, out_dir: Path) -> str:
    """One suite's table: display text in the cells, the numbers in data-value, best cells marked, then the
    links to the table's files, its notes and the protocol its numbers were scored under."""
    index_name = table.display.index.name or ""
    header = "".join(f"<th>{e(col)}</th>" for col in [index_name, *table.display.columns])
    rows = [table_row(table, label) for label in table.display.index]
    return "\n".join(
        [
            f'<h3 id="table-{e(safe_name(table.suite))}">{e(table.title)}</h3>',
            file_links(table.files, TABLE_FILE_LABELS, out_dir),
            f'<div class="wide"><table data-suite="{e(table.suite)}">',
            f"<thead><tr>{header}</tr></thead>",
            "<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>",
            notes_list(table.notes),
            f"<details open><summary>Protocol</summary>{value_html(protocol)}</details>" if protocol else "",
        ]
    )


def table_row(table: PaperTable, label: Any) -> str:
    cells = [f'<th scope="row">{e(label)}</th>']
    for col in table.display.columns:
        text = table.display.at[label, col]
        shown = "" if is_missing(text) else str(text)
        value = table.values.at[label, col] if col in table.values.columns else None
        number = data_value(value)
        classes = ["num"] if number is not None else []
        if (label, col) in table.best:
            classes.append("best")
        attrs = f' data-row="{e(label)}" data-col="{e(col)}"'
        if number is not None:
            attrs += f' data-value="{number}"'
        if classes:
            attrs += f' class="{" ".join(classes)}"'
        cells.append(f"<td{attrs}>{e(shown)}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def data_value(value: Any) -> str | None:
    """The exact number as text (Python's shortest round-trip form, as pandas writes it to CSV); None for a
    missing value or one that is not a number."""
    if value is None or isinstance(value, bool) or not isinstance(value, Number):
        return None
    if isinstance(value, Integral):
        return str(int(value))
    number = float(value)
    return None if math.isnan(number) else repr(number)


def is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def notes_list(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{e(note)}</li>" for note in notes) + "</ul>"


def file_links(files: dict[str, Path], labels: dict[str, str], out_dir: Path) -> str:
    links = [f'<a href="{href(path, out_dir)}">{e(labels.get(key, key))}</a>' for key, path in files.items()]
    return f'<p class="files">{"".join(links)}</p>' if links else ""


# ---- plots and cards ------------------------------------------------------------------------------------------


def plots_section(plots: list[Plot], out_dir: Path) -> str:
    if not plots:
        return section("plots", ['<p class="muted">No plots.</p>'])
    drawn = [plot_figure(plot, out_dir) for plot in plots if not plot.skipped]
    skipped = [plot_figure(plot, out_dir) for plot in plots if plot.skipped]
    return section("plots", [f'<div class="plots">{"".join(drawn)}</div>', *skipped])


def plot_figure(plot: Plot, out_dir: Path) -> str:
    """The PNG with its caption and a link to the SVG; a figure the data could not make says why."""
    if plot.skipped:
        return f'<p class="muted"><strong>{e(plot.title)}</strong>: not drawn ({e(plot.skipped)}).</p>'
    image = plot.files.get("png") or plot.files.get("svg")
    img = f'<img src="{href(image, out_dir)}" alt="{e(plot.title)}">' if image else ""
    svg = plot.files.get("svg")
    svg_link = f' <a href="{href(svg, out_dir)}">SVG</a>' if svg else ""
    return (
        f'<figure id="plot-{e(safe_name(plot.name))}">{img}'
        f"<figcaption><strong>{e(plot.title)}</strong> {e(plot.caption)}{svg_link}</figcaption></figure>"
    )


def cards_section(cards: list[TokenizerCard], skipped: dict[str, str], out_dir: Path) -> str:
    body = [card_html(card, out_dir) for card in cards] or ['<p class="muted">No tokenizer cards.</p>']
    if skipped:
        reasons = "".join(f"<li><code>{e(codec)}</code>: {e(why)}</li>" for codec, why in skipped.items())
        body.append(f"<p>No card for:</p><ul>{reasons}</ul>")
    return section("cards", body)


def card_html(card: TokenizerCard, out_dir: Path) -> str:
    """The card's plain facts in view; each nested group (tokens per depth, codebook usage, latency, ...)
    folded under its name, so a page of several cards stays short."""
    plain_facts = {k: v for k, v in card.facts.items() if not is_nested(v)}
    groups = [
        f"<details><summary>{e(k)}</summary>{value_html(v)}</details>"
        for k, v in card.facts.items()
        if is_nested(v)
    ]
    return (
        f'<div class="card" id="card-{e(safe_name(card.codec))}"><h3>{e(card.codec)}</h3>'
        f"{file_links(card.files, CARD_FILE_LABELS, out_dir)}{value_html(plain_facts)}{''.join(groups)}</div>"
    )


def is_nested(value: Any) -> bool:
    """A dict, or a list holding dicts or lists."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, dict | list | tuple) for v in value)


# ---- listening ------------------------------------------------------------------------------------------------


def listening_section(rows: list[ListeningRow], out_dir: Path) -> str:
    if not rows:
        return section(
            "listening",
            [
                '<p class="muted">The run kept no audio (run it with <code>hybridbench run --listen N</code>).</p>'
            ],
        )
    return section("listening", [listening_item(row, out_dir) for row in rows])


def listening_item(row: ListeningRow, out_dir: Path) -> str:
    """An item's text and original, then one line per codec with its decodings at the depths kept."""
    parts = [f'<div class="clip"><h3>{e(row.suite)} · {e(row.item_id)}</h3>']
    if row.text:
        parts.append(f"<blockquote>{e(row.text)}</blockquote>")
    lines = []
    if row.original is not None:
        lines.append(("original", [("", row.original, row.heard.get((None, None)))]))
    by_codec: dict[str, list[tuple[str, Path, str | None]]] = {}
    for (codec, depth), path in sorted(row.decoded.items()):
        by_codec.setdefault(codec, []).append((f"depth {depth}", path, row.heard.get((codec, depth))))
    lines += list(by_codec.items())
    parts.append("<table><tbody>")
    for name, clips in lines:
        cells = "".join(
            f"<td>{e(caption)}{audio_html(path, out_dir)}{heard_html(heard)}</td>"
            for caption, path, heard in clips
        )
        parts.append(f'<tr><th scope="row">{e(name)}</th>{cells}</tr>')
    parts.append("</tbody></table></div>")
    return "\n".join(parts)


def heard_html(transcript: str | None) -> str:
    """What the ASR transcribed from this clip (raw, before normalization), under its player."""
    if transcript is None:
        return ""
    return f'<div class="heard" title="ASR transcript">heard: “{e(transcript)}”</div>'


def audio_html(path: Path, out_dir: Path) -> str:
    kind = AUDIO_TYPES.get(path.suffix.lower())
    type_attr = f' type="{kind}"' if kind else ""
    link = href(path, out_dir)
    # preload=metadata: a page of dozens of clips opens at once, and each still shows its duration.
    return (
        f'<audio controls preload="metadata"><source src="{link}"{type_attr}>'
        f'<a href="{link}">{e(path.name)}</a></audio>'
    )


# ---- failures and provenance -----------------------------------------------------------------------------------


def failures_section(failures: pd.DataFrame) -> str:
    if failures is None or failures.empty:
        return section("failures", ["<p>No failures: every row was computed and every metric scored it.</p>"])
    return section(
        "failures",
        [
            "<p>Failed rows (<code>row</code>) are left out of every number; a metric that could not score a "
            "row is counted here and left out of that metric's mean.</p>",
            "<h3>Counts</h3>",
            frame_table(failure_counts(failures)),
            "<h3>Reasons</h3>",
            frame_table(failure_reasons(failures)),
        ],
    )


def failure_counts(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures per (suite, codec, what)."""
    counts = failures.groupby(["suite", "codec", "what"], sort=True).size()
    return counts.rename("failures").reset_index()


def failure_reasons(failures: pd.DataFrame) -> pd.DataFrame:
    """Per (suite, codec, what, reason): how many and which (item, depth)."""
    records = []
    for (suite, codec, what, reason), group in failures.groupby(
        ["suite", "codec", "what", "reason"], sort=True
    ):
        where = [
            f"{item} (depth {depth})" for item, depth in zip(group["item_id"], group["depth"], strict=True)
        ]
        named = ", ".join(sorted(where)[:ITEMS_NAMED_PER_REASON])
        if len(where) > ITEMS_NAMED_PER_REASON:
            named += f", and {len(where) - ITEMS_NAMED_PER_REASON} more"
        records.append((suite, codec, what, reason, len(group), named))
    return pd.DataFrame.from_records(
        records, columns=["suite", "codec", "what", "reason", "failures", "where"]
    )


def frame_table(frame: pd.DataFrame) -> str:
    header = "".join(f"<th>{e(col)}</th>" for col in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="num">{e(v)}</td>' if data_value(v) is not None else f"<td>{e(v)}</td>"
            for v in record
        )
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="wide"><table><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def provenance_section(provenance: dict[str, Any]) -> str:
    if not provenance:
        return section("provenance", ['<p class="muted">The runs recorded no provenance.</p>'])
    return section("provenance", [value_html(provenance)])


def value_html(value: Any) -> str:
    """Nested facts as nested tables: a dict as key/value rows, a list of plain values on one line, a list of
    dicts with the same keys as one table with a line per dict."""
    if isinstance(value, list | tuple) and is_records(value):
        return records_table(value)
    if isinstance(value, dict):
        if not value:
            return '<span class="muted">none</span>'
        rows = "".join(
            f'<tr><th scope="row">{e(k)}</th><td>{value_html(v)}</td></tr>' for k, v in value.items()
        )
        return f"<table><tbody>{rows}</tbody></table>"
    if isinstance(value, list | tuple):
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return e(", ".join(plain(v) for v in value)) or '<span class="muted">none</span>'
        return "<ul>" + "".join(f"<li>{value_html(v)}</li>" for v in value) + "</ul>"
    if value is None:
        return '<span class="muted">—</span>'
    return e(plain(value))


def is_records(values: list | tuple) -> bool:
    return bool(values) and all(isinstance(v, dict) and v.keys() == values[0].keys() for v in values)


def records_table(records: list | tuple) -> str:
    header = "".join(f"<th>{e(k)}</th>" for k in records[0])
    rows = "".join(
        "<tr>" + "".join(f"<td>{value_html(v)}</td>" for v in r.values()) + "</tr>" for r in records
    )
    return f'<div class="wide"><table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>'


def plain(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# ---- small helpers -------------------------------------------------------------------------------------------


def e(value: Any) -> str:
    """Any value as HTML text, quotes included (it may land in an attribute)."""
    return escape(str(value), quote=True)


def href(path: Path, out_dir: Path) -> str:
    """A relative URL to `path` (relative to `out_dir` or absolute inside it), escaped for an attribute.

    A path outside the report folder is a bug in the caller: the folder would not open on its own elsewhere."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path(out_dir).resolve())
        except ValueError:
            raise ValueError(f"{path} is outside the report folder {out_dir}") from None
    return e(quote(path.as_posix()))
