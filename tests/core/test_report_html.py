"""index.html: a hand-built page (escaping, relative links only, exact numbers in data-value) and the real
report of `small_run` opened in headless Chromium (images load, audio plays, cells match the CSV)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from hybridbench.report.html import write_index
from hybridbench.report.page import ListeningRow, PaperTable, Plot, ReportPage, TokenizerCard

HOSTILE = '<script>alert("x")</script> & co'


class PageParts(HTMLParser):
    """The tags of a page with their attributes, and each <td>'s text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self.texts: list[str] = []
        self._cell: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = (dict(attrs), [])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], "".join(self._cell[1])))
            self._cell = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._cell is not None:
            self._cell[1].append(data)


def parse(path: Path) -> PageParts:
    parts = PageParts()
    parts.feed(path.read_text(encoding="utf-8"))
    return parts


def hand_built_page(out: Path, elsewhere: Path) -> ReportPage:
    """A page as the builders would make it: a table with its files, a plot, a card, audio outside `out`."""
    values = pd.DataFrame(
        {"WER RVQ-1": [0.05, 0.123456789012, None], "WER RVQ-1 n": [4, 4, None], "depth": [None, 12, 3]},
        index=pd.Index(["original (ASR floor)", "dac-mini", HOSTILE], name="codec"),
    )
    display = pd.DataFrame(
        {"WER RVQ-1": ["5.0 n=4", "12.3 n=4", "—"], "depth": ["—", "12", "3"]}, index=values.index
    )
    table = PaperTable("synthetic-en", "synthetic-en: WER", values, display, best={("dac-mini", "WER RVQ-1")})
    table.notes.append(f"a note with {HOSTILE}")
    for key, name in {"md": "table-synthetic-en.md", "csv": "table-synthetic-en.csv"}.items():
        (out / name).write_text("x", encoding="utf-8")
        table.files[key] = Path(name)
    (out / "plots").mkdir()
    (out / "plots" / "wer.png").write_bytes(b"png")
    plot = Plot("wer", "WER by depth", f"caption {HOSTILE}", "synthetic-en", {"png": Path("plots/wer.png")})
    card = TokenizerCard(
        "dac-mini", {"frame_rate": 50.0, "codebook_sizes": [1024, 1024], "source": HOSTILE}, ""
    )
    elsewhere.mkdir()
    (elsewhere / "orig.wav").write_bytes(b"RIFF")
    (elsewhere / "dec.flac").write_bytes(b"fLaC")
    clip = ListeningRow(
        "synthetic-en",
        "item/0",
        HOSTILE,
        elsewhere / "orig.wav",
        {("dac-mini", 1): elsewhere / "dec.flac"},
    )
    failures = pd.DataFrame.from_records(
        [("synthetic-en", "g722", 1, "item-2", "pesq-wb", HOSTILE)],
        columns=["suite", "codec", "depth", "item_id", "what", "reason"],
    )
    provenance = {"git": {"commit": "abc", "dirty": False}, "manifests": {"synthetic-en": "f00d"}}
    return ReportPage("Report <x>", ["runs/a"], [table], [plot], [card], [clip], provenance, failures)


def test_page_escapes_links_relatively_and_carries_exact_numbers(tmp_path: Path):
    out = tmp_path / "report"
    out.mkdir()
    index = write_index(out, hand_built_page(out, tmp_path / "elsewhere"))
    text = index.read_text(encoding="utf-8")
    parts = parse(index)

    # Nothing from the run reaches the page unescaped, and nothing points off the folder.
    assert "<script" not in text and "&lt;script&gt;" in text
    assert "http://" not in text and "https://" not in text
    links = [attrs.get("src") or attrs.get("href") for _, attrs in parts.tags if {"src", "href"} & set(attrs)]
    internal = [link for link in links if not link.startswith("#")]
    assert internal and all((out / link).is_file() for link in internal), internal

    # The audio was copied in, each <source> with its MIME type.
    sources = {attrs["src"]: attrs.get("type") for tag, attrs in parts.tags if tag == "source"}
    assert sorted(sources.values()) == ["audio/flac", "audio/wav"]
    assert all(src.startswith("audio/synthetic-en/") for src in sources)

    # Each shown number carries its exact value; missing ones carry none; the best cell is marked.
    numeric = {
        (a["data-row"], a["data-col"]): (a.get("data-value"), a.get("class"), shown)
        for a, shown in parts.cells
        if "data-row" in a
    }
    assert numeric[("dac-mini", "WER RVQ-1")] == ("0.123456789012", "num best", "12.3 n=4")
    assert numeric[("original (ASR floor)", "WER RVQ-1")] == ("0.05", "num", "5.0 n=4")
    assert numeric[(HOSTILE, "WER RVQ-1")] == (None, None, "—")
    assert numeric[("dac-mini", "depth")][0] == "12.0"
