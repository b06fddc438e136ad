"""Signal metrics in worker processes: the same scores as inline, a crash is one item's counted failure, and a
run with workers stores the rows a run without them stores."""

from __future__ import annotations

import os

import numpy as np
import pytest

from hybridbench.metric_pool import MetricPool, default_workers, score_all
from hybridbench.metrics import METRICS
from hybridbench.report.aggregate import item_frame
from hybridbench.results import open_run
from hybridbench.runner import RunConfig, Runner

CRASH_MARKER = 0.123456


def crash_on_marker(reference16: np.ndarray, degraded16: np.ndarray):
    """Dies like a segfault in native code when the degraded signal starts with the marker."""
    if degraded16[0] == np.float32(CRASH_MARKER):
        os.abort()
    return {"first": float(degraded16[0])}, {}


def _signals(seed: int, seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    clean = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    return clean, (clean + 0.05 * rng.standard_normal(clean.shape)).astype(np.float32)


def test_pool_scores_equal_inline_scores():
    names = ["pesq-wb", "stoi"]
    inline_metrics = [METRICS.get(n)() for n in names]
    pairs = [_signals(seed) for seed in range(3)] + [(np.zeros(16000, np.float32), _signals(9)[1][:16000])]
    with MetricPool(names, workers=2) as pool:
        jobs = [pool.submit(ref, deg) for ref, deg in pairs]
        pooled = [pool.result(job) for job in jobs]
    inline = [score_all(inline_metrics, ref, deg) for ref, deg in pairs]
    assert pooled == inline
    # The silent reference is PESQ's recorded failure, in the pool as inline.
    assert "pesq-wb" in pooled[-1][1] and "pesq-wb" not in pooled[0][1]


def test_a_crashing_item_fails_alone_and_the_pool_goes_on():
    signals = [np.full(100, v, np.float32) for v in (0.1, CRASH_MARKER, 0.2, 0.3)]
    with MetricPool(["first"], workers=2, scorer=crash_on_marker) as pool:
        jobs = [pool.submit(s, s) for s in signals]
        results = [pool.result(job) for job in jobs]
        after = pool.result(pool.submit(signals[3], signals[3]))
    assert results[1] == (
        {},
        {"first": "the metric worker process died on this item (killed, or crashed in native code)"},
    )
    # The jobs pending in the broken pool are rerun, not blamed.
    assert [r[0]["first"] for i, r in enumerate(results) if i != 1] == pytest.approx([0.1, 0.2, 0.3])
    assert after[0]["first"] == pytest.approx(0.3)
    assert pool.crashes == 1


def test_default_workers_leave_cpu_timings_alone():
    assert default_workers("cpu") == 0
    assert 1 <= default_workers("cuda") <= 8


def test_a_run_with_workers_stores_the_inline_runs_scores(small_run, tmp_path):
    # small_run scored inline (a CPU run's default); the same rows with two workers must carry the same scores.
    config = RunConfig(
        codecs=["g722"], suites=["synthetic-en"], out=tmp_path, depths=[1, 2, 3], asr="whisper-tiny.en", limit=2,
        metrics=["pesq-wb", "stoi", "speaker-sim-resemblyzer"], timing_repeats=1, include_reference=False,
        workers=2,
    )  # fmt: skip
    summary = Runner(config).run()
    assert summary.computed == 6 and summary.failed == 0
    cols = ["item_id", "depth", "transcript", "pesq-wb", "stoi", "speaker-sim-resemblyzer"]
    pooled = (
        item_frame(open_run(tmp_path).rows)[cols].sort_values(["item_id", "depth"]).reset_index(drop=True)
    )
    inline = open_run(small_run).items
    inline = inline[(inline["codec"] == "g722") & inline["item_id"].isin(pooled["item_id"])][cols]
    inline = inline.sort_values(["item_id", "depth"]).reset_index(drop=True)
    assert list(pooled["transcript"]) == list(inline["transcript"])
    for metric in ("pesq-wb", "stoi", "speaker-sim-resemblyzer"):
        np.testing.assert_allclose(pooled[metric], inline[metric], rtol=0, atol=1e-5)
