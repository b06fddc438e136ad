"""index.html: a hand-built page (escaping, relative links only, exact numbers in data-value) and the real
report of `small_run` opened in headless Chromium (images load, audio plays, cells match the CSV)."""

from __future__ import annotations

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

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

    # The failure is counted and its reason shown as text.
    assert HOSTILE in parts.texts and "pesq-wb" in parts.texts


# ---- the real report in a real browser ----------------------------------------------------------------------

# Collects what the browser made of the page once every <audio> has loaded its metadata or failed (at most 30 s).
PAGE_STATE_JS = """
const done = arguments[arguments.length - 1];
const audios = [...document.querySelectorAll("audio")];
const settled = (a) => new Promise((resolve) => {
  if (a.readyState >= 1 || a.error || a.networkState === HTMLMediaElement.NETWORK_NO_SOURCE) return resolve();
  a.addEventListener("loadedmetadata", resolve, { once: true });
  a.addEventListener("error", resolve, { once: true });
  a.querySelectorAll("source").forEach((s) => s.addEventListener("error", resolve, { once: true }));
});
const timeout = new Promise((resolve) => setTimeout(resolve, 30000));
Promise.race([Promise.all(audios.map(settled)), timeout]).then(() => done({
  images: [...document.images].map((i) => ({ src: i.getAttribute("src"), width: i.naturalWidth })),
  audios: audios.map((a) => {
    const source = a.querySelector("source");
    return {
      src: source.getAttribute("src"), type: source.type, canPlay: a.canPlayType(source.type),
      readyState: a.readyState, networkState: a.networkState, duration: a.duration,
    };
  }),
  cells: [...document.querySelectorAll("td[data-row]")].map((td) => ({
    suite: td.closest("table").dataset.suite, row: td.dataset.row, col: td.dataset.col,
    value: td.dataset.value ?? null, text: td.textContent, best: td.classList.contains("best"),
  })),
  links: [...document.querySelectorAll("[src], [href]")].map((el) => el.getAttribute("src") ?? el.getAttribute("href")),
  height: document.documentElement.scrollHeight,
}));
"""


def chromium():
    """A headless Chromium driven through Debian's chromedriver (no download), or a skip that says what is
    missing."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip(
            "no chromium/chromedriver here (as root: make report-tools, or apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e .[dev])"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def keep_screenshot(driver, height: int, tmp_path: Path) -> Path:
    """The whole page as PNG in the test's folder, and at $HYBRIDBENCH_KEEP_SCREENSHOT when that is set."""
    driver.set_window_size(1280, min(max(height, 900), 16000))
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    if os.environ.get("HYBRIDBENCH_KEEP_SCREENSHOT"):
        keep = Path(os.environ["HYBRIDBENCH_KEEP_SCREENSHOT"])
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)
    return shot


@pytest.fixture(scope="session")
def browser():
    """Session-scoped and asked for before `small_run`, so that where there is no browser the test is skipped
    before the run is made."""
    driver = chromium()
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def test_report_opens_in_a_browser_with_every_image_audio_and_number(
    browser, small_run: Path, tmp_path: Path
):
    from hybridbench.report.build import build_report
    from hybridbench.report.paper_tables import paper_table
    from hybridbench.results import open_run

    out = tmp_path / "report"
    page = build_report([small_run], out)
    browser.get((out / "index.html").as_uri())
    state = browser.execute_async_script(PAGE_STATE_JS)
    shot = keep_screenshot(browser, state["height"], tmp_path)
    assert shot.stat().st_size > 10_000

    # Everything the page loads or links is a file of the report folder (or an anchor on the page).
    files = [link for link in state["links"] if not link.startswith("#")]
    assert files and all(":" not in link and (out / link).is_file() for link in files), files

    # Every plot drawn is on the page and decoded.
    drawn = {p.files["png"].as_posix() for p in page.plots if not p.skipped}
    assert drawn and {i["src"] for i in state["images"]} == drawn
    assert all(i["width"] > 0 for i in state["images"]), state["images"]

    # Every kept clip is playable: the browser takes its type and has read its header.
    assert len(state["audios"]) == sum(bool(r.original) + len(r.decoded) for r in page.listening) >= 2
    for clip in state["audios"]:
        assert (out / clip["src"]).is_file() and clip["canPlay"], clip
        assert clip["readyState"] >= 1 and clip["networkState"] != 3 and clip["duration"] > 0, clip

    # Each cell shows the table's text and carries the CSV's exact number.
    run = open_run(small_run)
    for table in page.tables:
        csv = pd.read_csv(out / table.files["csv"], index_col=0)
        display = paper_table(run, table.suite).display
        cells = [c for c in state["cells"] if c["suite"] == table.suite]
        assert len(cells) == display.size
        for cell in cells:
            assert cell["text"] == display.at[cell["row"], cell["col"]]
            expected = csv.at[cell["row"], cell["col"]]
            if pd.isna(expected):
                assert cell["value"] is None, cell
            else:
                assert float(cell["value"]) == float(expected), cell
            assert cell["best"] == ((cell["row"], cell["col"]) in table.best)
