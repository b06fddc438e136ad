"""A run split with --shard I/N and joined with `hybridbench merge` gives the tables of the unsplit run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybridbench.cli import main
from hybridbench.run_plan import parse_shard, shard_of

ARGS = ["run", "--codecs", "identity", "--suites", "synthetic-en", "--limit", "6", "--metrics", "stoi"]
ARGS += ["--timing-repeats", "1"]
TIMINGS = ("rtf_encode", "rtf_decode")


def _summary(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "summary-synthetic-en.csv").drop(columns=list(TIMINGS))


def test_shards_partition_the_items_and_merge_into_the_single_run(tmp_path: Path, capsys):
    items = [f"item-{i}" for i in range(200)]
    parts = [{i for i in items if shard_of("s", i, 3) == k} for k in range(3)]
    assert set().union(*parts) == set(items) and sum(map(len, parts)) == len(items)
    assert all(len(p) > 40 for p in parts)  # a hash spreads them, not a prefix

    assert main([*ARGS, "--out", str(tmp_path / "single")]) == 0
    for k in range(2):
        assert main([*ARGS, "--shard", f"{k}/2", "--out", str(tmp_path / f"shard{k}")]) == 0
    capsys.readouterr()
    shards = [str(tmp_path / f"shard{k}") for k in range(2)]
    assert main(["merge", *shards, "--out", str(tmp_path / "merged")]) == 0
    assert "merged 6 rows from 2 shards" in capsys.readouterr().out
    pd.testing.assert_frame_equal(_summary(tmp_path / "merged"), _summary(tmp_path / "single"))
    single = pd.read_csv(tmp_path / "single" / "depths-synthetic-en.csv").drop(columns=list(TIMINGS))
    merged = pd.read_csv(tmp_path / "merged" / "depths-synthetic-en.csv").drop(columns=list(TIMINGS))
    timing = [c for c in single.columns if c.startswith("rtf_")]
    pd.testing.assert_frame_equal(merged.drop(columns=timing), single.drop(columns=timing))

    # Not every shard, or shards of different runs, are refused with one line.
    assert main(["merge", shards[0], "--out", str(tmp_path / "m2")]) == 2
    assert "not every shard" in capsys.readouterr().err


def test_torchrun_ranks_shard_the_run_and_rank_0_merges(tmp_path: Path):
    """Two gloo processes on this CPU, as `torchrun --nproc-per-node 2 -m hybridbench.cli run ...` starts them."""
    import subprocess
    import sys

    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "hybridbench.cli", *ARGS]
    done = subprocess.run([*cmd, "--out", str(tmp_path / "ddp")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "ddp" / "shard-0-of-2" / "results.sqlite").is_file()
    assert main([*ARGS, "--out", str(tmp_path / "single")]) == 0
    pd.testing.assert_frame_equal(_summary(tmp_path / "ddp"), _summary(tmp_path / "single"))


@pytest.mark.parametrize("value", ["2/2", "1", "a/b", "-1/3"])
def test_a_bad_shard_is_a_one_line_error(value: str):
    from hybridbench.errors import HybridbenchError

    with pytest.raises(HybridbenchError, match="invalid --shard"):
        parse_shard(value)
