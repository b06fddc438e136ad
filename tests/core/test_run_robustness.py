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
from hybridbench.codecs import CODECS, WeightsStatus
from hybridbench.codecs.identity import IdentityCodec
from hybridbench.errors import HybridbenchError
from hybridbench.run_plan import RunConfig, RunSummary, plan_codecs
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


# ---- flags that were silently ignored or replaced --------------------------------------------------------------


class _UnreadableCheckpointCodec(IdentityCodec):
    """Weights that exist (WeightsStatus says so) but are not its checkpoint: describe() reads and rejects them."""

    name = "test-unreadable-checkpoint"

    @classmethod
    def weights_status(cls, weights=None):
        return WeightsStatus(available=True, location=weights)

    @classmethod
    def describe(cls, weights=None):
        raise KeyError("model_config")  # what reading another model's safetensors header looks like


@pytest.fixture
def unreadable_checkpoint_codec(monkeypatch):
    """Registered for one test only: `hybridbench codecs` elsewhere calls describe() on every codec."""
    CODECS.names()  # load the entry points first, so the registry is complete before the addition
    monkeypatch.setitem(CODECS._items, _UnreadableCheckpointCodec.name, _UnreadableCheckpointCodec)
    return _UnreadableCheckpointCodec


def _plan_depths(tmp_path, codecs, depths, full=False):
    cfg = RunConfig(
        codecs=codecs,
        suites=[],
        out=tmp_path,
        depths=depths,
        include_reference=False,
        include_full_depth=full,
    )
    return {p.name: p.depths for p in plan_codecs(cfg, RunSummary())}


def test_a_depth_no_codec_has_is_an_error_naming_each_codecs_depths(capsys, tmp_path):
    argv = [a if a != "identity" else "identity,g722" for a in DRY]
    err = _one_line_error(
        capsys, *argv, "--out", str(tmp_path / "run"), "--depths", "99"
    )  # the last one wins
    assert "--depths 99: no codec of this run has that depth (valid depths: g722: 1-3)" in err
    with pytest.raises(HybridbenchError, match=r"--depths 7,99: .*opus: 1-\d+; g722: 1-3"):
        _plan_depths(tmp_path, ["opus", "g722"], [1, 7, 99])


def test_the_identity_reference_is_scored_at_its_one_depth_whatever_is_asked(tmp_path):
    assert _plan_depths(tmp_path, ["identity"], [4, 12]) == {"identity": (1,)}


def test_a_depth_some_codec_has_still_runs_every_codec(tmp_path):
    # g722 has depth 3, opus does not: opus is scored at its full depth beside it, as before.
    planned = _plan_depths(tmp_path, ["opus", "g722"], [3])
    assert planned["g722"] == (3,) and len(planned["opus"]) == 1


def test_a_presets_depth_menu_may_name_depths_only_bigger_codecs_have(tmp_path):
    # The preset rule: with each codec's full depth added, only a menu with no valid depth at all is refused.
    assert _plan_depths(tmp_path, ["g722"], [1, 12], full=True) == {"g722": (1, 3)}
    with pytest.raises(HybridbenchError, match="--depths 12,99: no codec of this run has those depths"):
        _plan_depths(tmp_path, ["g722"], [12, 99], full=True)


@pytest.mark.parametrize("repeats", ["0", "-2"])
def test_timing_repeats_below_one_is_an_error_not_three(capsys, tmp_path, repeats):
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "run"), "--timing-repeats", repeats)
    assert f"--timing-repeats must be at least 1, got {repeats}" in err


def test_weights_for_a_codec_not_in_the_run_is_an_error(capsys, tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    err = _one_line_error(capsys, *DRY, "--out", str(tmp_path / "run"), "--weights", f"dac-16khz={weights}")
    assert "--weights for dac-16khz, which --codecs does not name (codecs: identity)" in err


def test_an_unreadable_checkpoint_stops_the_run_before_any_row_is_computed(
    capsys, tmp_path, unreadable_checkpoint_codec
):
    weights = tmp_path / "other-model.safetensors"
    weights.write_bytes(b"not this codec's checkpoint")
    argv = [a if a != "identity" else f"identity,{_UnreadableCheckpointCodec.name}" for a in RUN]
    err = _one_line_error(
        capsys,
        *argv,
        "--out",
        str(tmp_path / "run"),
        "--weights",
        f"{_UnreadableCheckpointCodec.name}={weights}",
    )
    assert f"test-unreadable-checkpoint: cannot read its weights at {weights}: 'model_config'" in err
    assert not (tmp_path / "run" / "results.sqlite").exists()  # identity, planned first, computed nothing
