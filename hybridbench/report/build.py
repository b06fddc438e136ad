"""The report folder of one or more runs: paper-layout tables, plots, tokenizer cards, a listening panel,
failures and provenance, laid out in index.html (open it from the file system) and report.json (the same page
for tools, without the tables' numbers, which are in the tables' CSV files).

    from hybridbench.report.build import build_report
    page = build_report([Path("runs/a"), Path("runs/b")], Path("report"))

Every number comes from the stored rows (`results.open_runs`); nothing here runs a codec or an ASR. The same
runs give the same files byte for byte: rows are read in a fixed order, intervals use a fixed seed, and
nothing written depends on the time of the build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hybridbench.errors import HybridbenchError
from hybridbench.hashing import sha256_file
from hybridbench.listening import listen_depths
from hybridbench.protocol import protocol_of
from hybridbench.report.cards import tokenizer_cards, write_cards
from hybridbench.report.html import copy_audio, failure_counts, write_index
from hybridbench.report.page import ListeningRow, ReportPage
from hybridbench.report.paper_tables import paper_table, write_paper_table
from hybridbench.report.plots import write_plots
from hybridbench.results import RunResults, open_runs
from hybridbench.run_plan import REFERENCE_CODEC
from hybridbench.runner import write_json

REPORT_JSON = "report.json"


def build_report(
    runs: list[Path],
    out: Path,
    *,
    depths: list[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportPage:
    """Write the report of `runs` into `out` (index.html, report.json, tables, plots, cards, audio) and return
    its page. `depths`: the WER columns of the tables and the depths of the listening panel (default: all
    run). `progress` is told each stage as it starts."""
    say = progress or (lambda _message: None)
    out = checked_out_folder(out)
    say(f"reading {len(runs)} run folder{'s' if len(runs) != 1 else ''}")
    run = open_runs(runs)
    if not run.rows:
        raise HybridbenchError(
            f"{', '.join(map(str, runs))} hold no results yet", "run or resume the run first"
        )
    out.mkdir(parents=True, exist_ok=True)
    say(f"tables of {len(run.suites)} suite{'s' if len(run.suites) != 1 else ''}")
    tables = [write_paper_table(paper_table(run, suite, depths), out) for suite in run.suites]
    say("plots")
    plots = write_plots(run.summary, out)
    say("tokenizer cards")
    cards, cards_skipped = tokenizer_cards(run)
    cards = write_cards(cards, out)
    say("listening panel (copying the kept audio)")
    listening = copy_audio(listening_rows(run, depths), out)
    page = ReportPage(
        title=f"Codec comparison: {', '.join(run.suites)}",
        runs=[str(folder) for folder in run.folders],
        tables=tables,
        plots=plots,
        cards=cards,
        listening=listening,
        provenance=provenance_summary(run),
        failures=run.failures(),
        protocols={suite: asdict(protocol_of(run, suite)) for suite in run.suites},
        cards_skipped=cards_skipped,
    )
    say("index.html and report.json")
    write_index(out, page)
    write_json(out / REPORT_JSON, page_record(page))
    return page


def checked_out_folder(out: Path) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HybridbenchError(
            f"--out {out} is a file", "give a folder for the report (it is created if missing)"
        )
    return out


# ---- listening ------------------------------------------------------------------------------------------------


def listening_rows(run: RunResults, depths: list[int] | None = None) -> list[ListeningRow]:
    """One row per kept item: its text, its original and each codec's decodings at the first, middle and last
    of the depths kept (of `depths` where given). The identity codec's decoding is the original again: left
    out."""
    texts = item_texts(run)
    rows: dict[tuple[str, str], ListeningRow] = {}
    kept: dict[tuple[str, str, str], dict[int, Path]] = {}
    for clip in run.listening():
        key = (clip.suite, clip.item_id)
        row = rows.setdefault(key, ListeningRow(clip.suite, clip.item_id, texts.get(key), None))
        if clip.codec is None:
            row.original = clip.path
        elif clip.codec != REFERENCE_CODEC and (depths is None or clip.depth in depths):
            kept.setdefault((*key, clip.codec), {})[clip.depth] = clip.path
    for (suite, item_id, codec), by_depth in kept.items():
        for depth in listen_depths(list(by_depth)):
            rows[(suite, item_id)].decoded[(codec, depth)] = by_depth[depth]
    heard = item_transcripts(run)
    for key, row in rows.items():
        for codec, depth in [(None, None), *row.decoded]:
            found = heard.get((*key, codec or REFERENCE_CODEC, depth))
            if found is not None:
                row.heard[(codec, depth)] = found
    return [rows[key] for key in sorted(rows)]


def item_transcripts(run: RunResults) -> dict[tuple[str, str, str, int | None], str]:
    """(suite, item id, codec, depth) -> the raw transcript of each row that succeeded; the identity's under
    depth None (it has one depth: the original)."""
    items = run.items
    if items.empty:
        return {}
    ok = items[items["status"] == "ok"]
    return {
        (s, i, c, None if c == REFERENCE_CODEC else int(d)): t
        for s, i, c, d, t in zip(
            ok["suite"], ok["item_id"], ok["codec"], ok["depth"], ok["transcript"], strict=True
        )
    }


def item_texts(run: RunResults) -> dict[tuple[str, str], str]:
    """(suite, item id) -> the item's reference text, as stored with its rows."""
    items = run.items
    if items.empty:
        return {}
    known = items.dropna(subset=["text"]).drop_duplicates(["suite", "item_id"])
    return {(s, i): t for s, i, t in zip(known["suite"], known["item_id"], known["text"], strict=True)}


# ---- provenance -----------------------------------------------------------------------------------------------


def provenance_summary(run: RunResults) -> dict[str, Any]:
    """What a reviewer needs to trust and repeat the numbers: per run folder the code, machine and package
    versions; per suite the ASR profile, the normalizer applied and the sha256 of the data manifests."""
    return {
        "runs": {
            str(folder): run_facts(provenance, config)
            for folder, provenance, config in zip(run.folders, run.provenances, run.configs, strict=True)
        },
        "suites": {suite: suite_facts(run, suite) for suite in run.suites},
    }


def run_facts(provenance: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    git = provenance.get("git") or {}
    commit = git.get("commit")
    device = provenance.get("device")
    return {
        "git_commit": (commit + (" (uncommitted changes)" if git.get("dirty") else ""))
        if commit
        else "unknown",
        "run_at_utc": provenance.get("time_utc"),
        "device": f"{device} ({provenance.get('device_name')})" if device else None,
        "cpu": provenance.get("cpu"),
        "python": provenance.get("python"),
        "platform": provenance.get("platform"),
        "torch_threads": provenance.get("torch_threads"),
        "resampler": provenance.get("resampler"),
        "codecs": config.get("codecs"),
        "depths": config.get("depths") or "every depth each codec declares",
        "limit": config.get("limit"),
        "timing_repeats": config.get("timing_repeats"),
        "metrics": {
            m["name"]: m.get("version") for m in provenance.get("metrics", []) if isinstance(m, dict)
        },
        "asr_model_sha256": provenance.get("asr_model_sha256", {}),
        "packages": {name: v for name, v in sorted(provenance.get("packages", {}).items()) if v},
    }


def suite_facts(run: RunResults, suite: str) -> dict[str, Any]:
    return {
        "asr": run.asr(suite),
        "normalizer_applied": normalizers_applied(run, suite),
        "manifest_sha256": manifest_hashes(run, suite),
        "dataset_rows_not_used": sum(
            count_lines(folder / f"problems-{suite}.jsonl") for folder in run.folders
        ),
    }


def normalizers_applied(run: RunResults, suite: str) -> list[str]:
    items = run.items
    if items.empty or "normalizer" not in items:
        return []
    return sorted(set(items.loc[items["suite"] == suite, "normalizer"].dropna()))


def manifest_hashes(run: RunResults, suite: str) -> dict[str, str]:
    """Run folder -> sha256 of its manifest-<suite>.jsonl (each item's file size and hash): equal hashes show
    that two runs read the same data."""
    found = {}
    for folder in run.folders:
        manifest = folder / f"manifest-{suite}.jsonl"
        if manifest.is_file():
            found[str(folder)] = sha256_file(manifest)
    return found


def count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


# ---- report.json ----------------------------------------------------------------------------------------------


def page_record(page: ReportPage) -> dict[str, Any]:
    """The page as JSON: every file it links and every fact it shows, except the tables' numbers (in each
    table's CSV) and the failure rows (counted here; listed in index.html)."""
    return {
        "title": page.title,
        "runs": page.runs,
        "tables": [
            {
                "suite": t.suite,
                "title": t.title,
                "best": sorted([str(row), str(col)] for row, col in t.best),
                "notes": t.notes,
                "files": posix(t.files),
            }
            for t in page.tables
        ],
        "plots": [
            {
                "name": p.name,
                "title": p.title,
                "caption": p.caption,
                "suite": p.suite,
                "files": posix(p.files),
            }
            | ({"skipped": p.skipped} if p.skipped else {})
            for p in page.plots
        ],
        "cards": [{"codec": c.codec, "facts": c.facts, "files": posix(c.files)} for c in page.cards],
        "cards_skipped": page.cards_skipped,
        "listening": [listening_record(row) for row in page.listening],
        "protocols": page.protocols,
        "provenance": page.provenance,
        "failures": failure_counts(page.failures).to_dict(orient="records") if len(page.failures) else [],
    }


def listening_record(row: ListeningRow) -> dict[str, Any]:
    return {
        "suite": row.suite,
        "item_id": row.item_id,
        "text": row.text,
        "original": row.original.as_posix() if row.original else None,
        "decoded": [
            {"codec": codec, "depth": depth, "path": path.as_posix(), "heard": row.heard.get((codec, depth))}
            for (codec, depth), path in sorted(row.decoded.items())
        ],
        "original_heard": row.heard.get((None, None)),
    }


def posix(files: dict[str, Path]) -> dict[str, str]:
    return {key: Path(path).as_posix() for key, path in files.items()}
