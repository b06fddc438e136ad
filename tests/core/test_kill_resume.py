"""A run killed with SIGKILL (no handler, no cleanup: a preempted node, an OOM kill) loses at most the item in
flight: rerunning the same command computes only the missing rows and gives the tables of a run never killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hybridbench.results import open_run

ARGS = [
    "run", "--codecs", "g722", "--suites", "synthetic-en", "--limit", "6", "--asr", "whisper-tiny.en",
    "--metrics", "pesq-wb,stoi", "--timing-repeats", "1",
]  # fmt: skip
ROWS = 6 * (3 + 1)  # G.722's 3 depths and the identity, 6 items


def _cli(out: Path) -> list[str]:
    return [sys.executable, "-m", "hybridbench.cli", *ARGS, "--out", str(out)]


def _stored(out: Path) -> int:
    try:
        with sqlite3.connect(out / "results.sqlite") as db:
            return db.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def _numbers(out: Path) -> pd.DataFrame:
    """The run's aggregates without timings (which differ between any two runs)."""
    summary = open_run(out).summary
    timing = [c for c in summary.columns if c.startswith("rtf")]
    return summary.drop(columns=timing).sort_values(["codec", "depth"]).reset_index(drop=True)


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_tables(tmp_path):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    proc = subprocess.Popen(_cli(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while _stored(killed) < ROWS // 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _stored(killed)
    assert 0 < partial < ROWS

    rerun = subprocess.run(_cli(killed), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{ROWS - partial} computed (0 failed), {partial} reused" in rerun.stdout
    assert _stored(killed) == ROWS

    subprocess.run(_cli(whole), check=True, capture_output=True, timeout=600)
    pd.testing.assert_frame_equal(_numbers(killed), _numbers(whole))
