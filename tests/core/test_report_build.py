"""`hybridbench report`: the folder it writes from `small_run`, byte for byte the same on a rerun, and one-line
errors for what a user can get wrong."""

from __future__ import annotations

import json
from pathlib import Path

from hybridbench.cli import main
from hybridbench.results import open_run


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_report_folder_is_complete_and_reruns_byte_for_byte(small_run: Path, tmp_path: Path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["report", str(small_run), "--out", str(first)]) == 0
    out = capsys.readouterr().out
    assert "report: plots" in out and str((first / "index.html").resolve()) in out

    files = folder_bytes(first)
    for name in ("index.html", "report.json", "table-synthetic-en.md", "table-synthetic-en.csv"):
        assert name in files
    assert any(name.startswith("plots/") and name.endswith(".png") for name in files)
    assert any(name.startswith("cards/") for name in files)

    # The listening panel: the 2 kept items, each with its original and a few depths of every codec but the
    # identity (whose decoding is the original again).
    page = json.loads(files["report.json"])
    assert [row["item_id"] for row in page["listening"]] == ["synthetic-en-000", "synthetic-en-001"]
    for row in page["listening"]:
        assert row["original"] and row["original"] in files
        decoded = {(d["codec"], d["depth"]) for d in row["decoded"]}
        assert {("dac-mini", 1), ("dac-mini", 12), ("g722", 1)} <= decoded
        assert not any(codec == "identity" for codec, _ in decoded)
        assert len({d for c, d in decoded if c == "dac-mini"}) <= 3
        # Beside each clip, what the ASR heard: the stored raw transcript of that row.
        items = open_run(small_run).items.set_index(["item_id", "codec", "depth"])
        for d in row["decoded"]:
            assert d["heard"] == items.loc[(row["item_id"], d["codec"], d["depth"]), "transcript"]
        assert row["original_heard"] == items.loc[(row["item_id"], "identity", 1), "transcript"]
    suite = page["provenance"]["suites"]["synthetic-en"]
    assert len(next(iter(suite["manifest_sha256"].values()))) == 64 and suite["normalizer_applied"]

    assert main(["report", str(small_run), "--out", str(second)]) == 0
    assert folder_bytes(second) == files


def test_depths_choose_the_table_columns_and_the_clips(small_run: Path, tmp_path: Path):
    out = tmp_path / "report"
    assert main(["report", str(small_run), "--out", str(out), "--depths", "1,12"]) == 0
    header = (out / "table-synthetic-en.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "WER RVQ-1," in header and "WER 1:12," in header and "WER 1:2," not in header
    page = json.loads((out / "report.json").read_text(encoding="utf-8"))
    depths = {d["depth"] for row in page["listening"] for d in row["decoded"]}
    assert depths == {1, 12}


def test_mistakes_are_one_line_errors(small_run: Path, tmp_path: Path, capsys):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        (["report", str(not_a_run), "--out", str(tmp_path / "r1")], "is not a run folder"),
        (["report", str(small_run), "--out", str(a_file)], "is a file"),
        (["report", str(small_run), "--out", str(tmp_path / "r2"), "--depths", "0,x"], "invalid --depths"),
        (["report", str(small_run), "--out", str(tmp_path / "r3"), "--depths", "7"], "depth 7 was not run"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
