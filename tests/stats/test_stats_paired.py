"""Paired comparisons of two codecs on the same items: planted differences found, null ones not, p calibrated."""

from __future__ import annotations

import numpy as np
import pytest

from hybridbench import stats
from hybridbench.metrics.wer import EditCounts


def _paired_edits(rng: np.random.Generator, n: int, rate_a: float, rate_b: float):
    """Two codecs on the same items: a shared per-item difficulty, plus each codec's own rate."""
    lengths = rng.integers(3, 41, size=n)
    difficulty = rng.gamma(2.0, 0.5, size=n)  # mean 1: some items are hard for every codec
    errors_a = rng.binomial(lengths, np.clip(rate_a * difficulty, 0, 1))
    errors_b = rng.binomial(lengths, np.clip(rate_b * difficulty, 0, 1))
    return errors_a, lengths, errors_b, lengths


def test_planted_wer_difference_is_detected():
    # A makes about 3 points more errors than B on 300 items.
    ea, la, eb, lb = _paired_edits(np.random.default_rng(1), 300, 0.13, 0.10)
    result = stats.paired_rate_difference(ea, la, eb, lb, seed=0)
    assert result.p_value < 0.01
    assert 0 < result.low < result.difference < result.high
    assert result.difference == pytest.approx(result.a - result.b)
    assert result.a == pytest.approx(ea.sum() / la.sum())
    assert result.b == pytest.approx(eb.sum() / lb.sum())
    assert result.n == 300
    assert "permutation" in result.test and "bootstrap" in result.method


def test_null_wer_difference_is_not_detected():
    # Same rate for both codecs: no significance, and the interval of the difference contains 0.
    ea, la, eb, lb = _paired_edits(np.random.default_rng(2), 300, 0.10, 0.10)
    result = stats.paired_rate_difference(ea, la, eb, lb, seed=0)
    assert result.p_value > 0.05
    assert result.low < 0 < result.high


def test_planted_and_null_mean_differences():
    rng = np.random.default_rng(3)
    item = rng.normal(3.0, 0.6, size=200)  # per-item PESQ level shared by both codecs
    b = item + rng.normal(0, 0.2, size=200)
    a_better = item + 0.08 + rng.normal(0, 0.2, size=200)
    a_same = item + rng.normal(0, 0.2, size=200)
    found = stats.paired_mean_difference(a_better, b, seed=0)
    assert found.p_value < 0.01 and found.low > 0
    assert found.difference == pytest.approx(np.mean(a_better - b))
    null = stats.paired_mean_difference(a_same, b, seed=0)
    assert null.p_value > 0.05 and null.low < 0 < null.high


def test_pairing_is_what_finds_a_small_difference():
    # The per-item spread (sd 0.6) dwarfs the difference (0.08); only the pairing removes it. Comparing the
    # two unpaired intervals would see them overlap.
    rng = np.random.default_rng(4)
    item = rng.normal(3.0, 0.6, size=200)
    a, b = item + 0.08 + rng.normal(0, 0.1, size=200), item + rng.normal(0, 0.1, size=200)
    ia, ib = stats.mean_interval(a), stats.mean_interval(b)
    assert ia.low < ib.high and ib.low < ia.high  # the unpaired intervals overlap
    assert stats.paired_mean_difference(a, b).p_value < 0.001


def test_p_values_are_roughly_uniform_under_the_null():
    # 300 null experiments: the permutation p-value should be uniform, so about 5 % fall below 0.05.
    rng = np.random.default_rng(5)
    ps = []
    for run in range(300):
        ea, la, eb, lb = _paired_edits(rng, 60, 0.1, 0.1)
        ps.append(stats.paired_rate_difference(ea, la, eb, lb, n_resamples=500, seed=run).p_value)
    ps = np.array(ps)
    assert 0.02 <= np.mean(ps < 0.05) <= 0.09, np.mean(ps < 0.05)
    assert 0.2 <= np.mean(ps < 0.25) <= 0.3
    assert abs(np.mean(ps) - 0.5) < 0.05


def test_the_difference_interval_covers_the_true_difference():
    # 300 experiments with a known difference of mean values (A - B = 0.1): coverage near 95 %.
    rng = np.random.default_rng(6)
    hits = 0
    for run in range(300):
        item = rng.normal(0, 1, size=80)
        a = item + 0.1 + rng.exponential(0.3, size=80)
        b = item + rng.exponential(0.3, size=80)
        r = stats.paired_mean_difference(a, b, n_resamples=1000, seed=run)
        hits += r.low <= 0.1 <= r.high
    assert 0.91 <= hits / 300 <= 0.98


def test_edit_count_wrapper_matches_arrays_and_is_deterministic():
    counts_a = [
        EditCounts(2, 0, 1, 10),
        EditCounts(1, 1, 0, 8),
        EditCounts(0, 0, 0, 12),
        EditCounts(3, 0, 0, 9),
    ]
    counts_b = [
        EditCounts(0, 0, 0, 10),
        EditCounts(1, 0, 0, 8),
        EditCounts(0, 0, 0, 12),
        EditCounts(1, 0, 0, 9),
    ]
    (ea, la), (eb, lb) = stats.edit_arrays(counts_a), stats.edit_arrays(counts_b)
    r1 = stats.paired_rate_difference(ea, la, eb, lb, n_resamples=1000, seed=3)
    r2 = stats.paired_rate_difference(
        [3, 2, 0, 3], [10, 8, 12, 9], [0, 1, 0, 1], [10, 8, 12, 9], n_resamples=1000, seed=3
    )
    assert r1 == r2
    assert r1.difference == pytest.approx(8 / 39 - 2 / 39)
    # With 4 items there are only 2^4 swap patterns; the most extreme has p = 2/16, never below it.
    assert r1.p_value >= 2 / 16 - 0.03


def test_identical_codecs_have_zero_difference_and_p_one():
    values = np.random.default_rng(0).normal(size=50)
    r = stats.paired_mean_difference(values, values)
    assert r.difference == 0 and r.low == 0 and r.high == 0 and r.p_value == 1.0
