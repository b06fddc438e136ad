"""The offline benchmark reaches the harness only as a registered preset; flags override its settings."""

from __future__ import annotations

from pathlib import Path

from hybridbench.cli import build_parser
from hybridbench.commands.run import build_config
from hybridbench.presets import PRESETS
from minireplication.preset import MINI_REPLICATION


def test_the_bench_preset_is_registered_through_its_entry_point():
    assert PRESETS.get("mini-replication") is MINI_REPLICATION


def test_a_preset_fills_what_the_flags_leave_out_and_the_flags_win():
    args = build_parser().parse_args(["run", "--preset", "mini-replication", "--depths", "1", "--limit", "3"])
    config = build_config(args, MINI_REPLICATION)
    assert config.suites == MINI_REPLICATION.suites.split(",")
    assert config.depths == [1] and config.limit == 3
    assert config.metrics == ["pesq-wb", "stoi"] and config.timing_repeats == 1
    assert config.out == Path("runs/bench") and config.skip_unavailable and config.include_full_depth
    # Every codec whose weights are here, the four minis among them.
    assert {"hybridcodec-mini", "dac-mini", "dac-distill-mini", "dualcodec-mini", "opus"} <= set(
        config.codecs
    )
