"""The offline benchmark (`make bench`, `hybridbench run --preset mini-replication`).

Every codec whose weights are here (the four minis ship in the package, beside the identity floor and the
classic codecs) on the replication's held-out suites (skipped, with the command that prepares them, where
absent); English transcribed by Whisper tiny.en and French by Whisper base (tiny.en is English-only). The first
10 items of asterisk-en-test (the fewest for which a paired comparison gives a verdict) and 2 of the others,
depths 1 (RVQ-1) and 12 plus each residual codec's full depth (Opus and AMR-NB, simulcast, at depth 1 only: their
lowest bitrate, the nearest to the minis' 3 kbit/s), PESQ-WB and STOI, one timed run per call: sized by
measurement to stay under 5 minutes on 2 CPU cores. After the tables, the claims summary of the minis
(`mini-replication.md` in the run folder), with the speed claim timed on its own (BENCH_SPEED, about 10 s).
`minireplication leaderboard` runs the full comparison.
"""

from __future__ import annotations

from pathlib import Path

from hybridbench.presets import PresetRun, RunPreset
from minireplication.claims import bench_summary
from minireplication.speed_claim import ClaimTiming, speed_claim

# Timed apart from the scoring, as the leaderboard does, with fewer calls to fit the budget.
BENCH_SPEED = ClaimTiming(seconds=4.0, repeats=3, warmup=1)
SUMMARY = "mini-replication.md"


def claims_page(run: PresetRun) -> list[Path]:
    """The minis' verdicts on this run's rows (nothing when the run did not score all four)."""
    speed, speed_note = speed_claim(run.device, run.unavailable, BENCH_SPEED)
    summary = bench_summary(run.rows, run.metrics, speed=speed)
    if summary is None:
        return []
    note = (
        f"{run.limit_description.capitalize()}: the intervals are wide. The full evaluation is "
        "leaderboards/mini-replication.md (`make leaderboard`).\n\n"
        + (f"{speed_note}\n\n" if speed_note else "")
    )
    target = run.out / SUMMARY
    target.write_text(note + summary + "\n", encoding="utf-8")
    return [target]


MINI_REPLICATION = RunPreset(
    name="mini-replication",
    description="the offline benchmark: the shipped minis beside the classic codecs on held-out real speech",
    suites="asterisk-en-test,librivox-mini,synthetic-en,asterisk-fr-test",
    asr="en:whisper-tiny.en,*:whisper-base",
    depths="1,12",
    limit="asterisk-en-test=10,*=2",
    metrics="pesq-wb,stoi",
    timing_repeats=1,
    out="runs/bench",
    pages=claims_page,
)
