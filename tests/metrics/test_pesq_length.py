"""PESQ never hands the `pesq` library a signal long enough to crash its C code (ludlows/PESQ#18).

A crash there is a segfault: it would kill this test process, so the library is replaced by a recorder that
fails the test if it is ever given more than the bound, and the long signals end as a counted MetricFailure.
"""

from __future__ import annotations

import numpy as np
import pesq
import pytest

from hybridbench.metrics import METRICS, MetricFailure
from hybridbench.metrics.signal import PESQ_MAX_SECONDS

RATE = 16000


@pytest.fixture
def pesq_calls(monkeypatch):
    """Replace pesq.pesq by a recorder that refuses anything over the bound (as the real one may crash)."""
    calls: list[float] = []

    def fake(fs, ref, deg, mode="wb"):
        seconds = max(len(ref), len(deg)) / fs
        calls.append(seconds)
        assert seconds <= PESQ_MAX_SECONDS, f"pesq was handed {seconds:.1f} s"
        return 3.0

    monkeypatch.setattr(pesq, "pesq", fake)
    return calls


def _signal(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


@pytest.mark.parametrize("name", ["pesq-wb", "pesq-nb"])
def test_a_long_signal_is_a_counted_failure_and_never_reaches_pesq(name, pesq_calls):
    long = _signal(PESQ_MAX_SECONDS * 5)  # 200 s: the real library segfaulted on read speech this long
    with pytest.raises(MetricFailure, match=r"200\.0 s is longer than the 40 s"):
        METRICS.get(name)()(long, long)
    assert pesq_calls == []


@pytest.mark.parametrize("name", ["pesq-wb", "pesq-nb"])
def test_a_signal_at_the_bound_is_still_scored(name, pesq_calls):
    x = _signal(PESQ_MAX_SECONDS)
    assert METRICS.get(name)()(x, x) == 3.0
    assert len(pesq_calls) == 1


def test_the_bound_is_stated_in_both_descriptions():
    for name in ("pesq-wb", "pesq-nb"):
        assert f"over {PESQ_MAX_SECONDS:.0f} s" in METRICS.get(name).spec.description
