"""Inputs that used to stop a run with a traceback, or let it do something silently wrong (issue 22).

Each ends as a one-line error with what to do (`hybridbench run` returns 2), before any row is computed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hybridbench.cli import main
from hybridbench.errors import HybridbenchError
from hybridbench.store import ResultRow, ResultStore, run_lock

DRY = [
    "run",
    "--codecs",
    "identity",
    "--suites",
    "synthetic-en",
    "--limit",
    "1",
    "--depths",
    "1",
    "--dry-run",
]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(capsys, *argv) -> str:
    code, _, err = _run(capsys, *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def _store_with_rows(path: Path, n: int = 200) -> None:
    with ResultStore(path) as store:
        for i in range(n):
            store.put(ResultRow(f"k{i}", "c", "s", f"item{i}", 1, "ok", None, {"text": "x" * 500}))
    # Fold the write-ahead log into the file, so what the tests damage is the whole store.
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()


# ---- a damaged results.sqlite ----------------------------------------------------------------------------------


def test_a_truncated_store_is_a_one_line_error(capsys, tmp_path):
    store = tmp_path / "run" / "results.sqlite"
    _store_with_rows(store)
    store.write_bytes(store.read_bytes()[: store.stat().st_size // 3])
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "run"))
    assert "results.sqlite is damaged" in err or "not a readable results store" in err
    assert "move it aside" in err


def test_garbage_bytes_are_a_one_line_error(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.sqlite").write_bytes(b"this is not a database\n" * 100)
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "run"))
    assert "not a readable results store (file is not a database)" in err and "move it aside" in err


def test_a_sqlite_file_of_another_schema_is_refused_and_left_alone(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    path = tmp_path / "run" / "results.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE results (key TEXT PRIMARY KEY, value REAL)")
    db.commit()
    db.close()
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "run"))
    assert "is a SQLite file of another schema (no matching results, invocations table)" in err
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("results",), ("sqlite_autoindex_results_1",)]  # nothing added to it


def test_another_programs_database_gets_no_tables_added(tmp_path):
    path = tmp_path / "theirs.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    with pytest.raises(Exception, match="another schema"):
        ResultStore(path)
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


def test_a_sound_store_still_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "results.sqlite"
    _store_with_rows(path, n=3)
    with ResultStore(path) as store:
        assert [r.item_id for r in store.rows()] == ["item0", "item1", "item2"]


# ---- an unusable --out -----------------------------------------------------------------------------------------


def test_out_that_is_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "file"))
    assert f"--out {tmp_path / 'file'} is a file, not a folder (pass a folder path to --out)" in err


def test_out_under_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "file" / "run" / "deeper"))
    assert f"is under {tmp_path / 'file'}, which is a file" in err


def test_out_in_a_folder_that_cannot_be_written(capsys, tmp_path):
    # /sys refuses new files even to root (who passes every permission check on an ordinary folder).
    if not Path("/sys").is_dir():
        pytest.skip("needs /sys, a folder that refuses writes even to root")
    err = _one_line_error(capsys, *DRY, "--out", "/sys/hybridbench-run")
    assert "--out /sys/hybridbench-run: cannot write in /sys" in err and "you can write to" in err


# ---- two runs on one --out -------------------------------------------------------------------------------------

RUN = ["run", "--codecs", "identity", "--suites", "synthetic-en", "--limit", "1", "--depths", "1"]
RUN += ["--timing-repeats", "1"]


def test_a_second_run_on_the_same_out_refuses_at_once(capsys, tmp_path):
    out = tmp_path / "run"
    with run_lock(out) as lock:  # a second open of the lock file conflicts like another process would
        err = _one_line_error(capsys, *RUN, "--out", str(out))
    assert f"another run is computing into {out}: {lock} is held by process {os.getpid()}" in err
    assert "pass another --out" in err
    assert not (out / "results.sqlite").exists()  # refused before computing anything


def test_the_lock_of_a_dead_run_does_not_block(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(HybridbenchError, match=f"held by process {holder.pid}"), run_lock(out):
            pass
    finally:
        holder.kill()  # as a crash or kill -9 would end it: nothing removes the file
        holder.wait()
    assert (out / "run.lock").is_file()
    with run_lock(out):
        pass


HOLD_LOCK = """
import sys, time
from pathlib import Path
from hybridbench.store import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""
