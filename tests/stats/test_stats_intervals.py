"""Bootstrap intervals over items: nominal coverage on simulated data, agreement with scipy, determinism, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import bootstrap

from hybridbench import stats
from hybridbench.metrics.wer import EditCounts, corpus_rate


def test_mean_interval_covers_the_true_mean_at_about_the_nominal_rate():
    # 400 simulated experiments of 80 items from a skewed distribution (gamma, mean 2): a BCa 95 % interval
    # should contain the true mean in about 95 % of them (binomial sd at 400 runs: 1.1 points).
    rng = np.random.default_rng(2026)
    true_mean = 2.0
    hits = 0
    for run in range(400):
        values = rng.gamma(shape=4.0, scale=true_mean / 4.0, size=80)
        ci = stats.mean_interval(values, n_resamples=2000, seed=run)
        hits += ci.low <= true_mean <= ci.high
    coverage = hits / 400
    assert 0.92 <= coverage <= 0.975, coverage


def _simulated_edits(rng: np.random.Generator, n: int, mean_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Items of 3 to 40 words; each item has its own error probability (Beta), so errors cluster by item."""
    lengths = rng.integers(3, 41, size=n)
    a = 2.0
    b = a * (1 - mean_rate) / mean_rate
    errors = rng.binomial(lengths, rng.beta(a, b, size=n))
    return errors, lengths


def test_corpus_rate_interval_covers_the_true_rate_at_about_the_nominal_rate():
    # The per-item error probability is independent of the length, so the corpus rate's true value is the
    # Beta mean. Resampling words instead of items would ignore the clustering and under-cover badly.
    rng = np.random.default_rng(7)
    true_rate = 0.12
    hits = 0
    for run in range(400):
        errors, lengths = _simulated_edits(rng, 100, true_rate)
        ci = stats.rate_interval(errors, lengths, n_resamples=2000, seed=run)
        hits += ci.low <= true_rate <= ci.high
    coverage = hits / 400
    assert 0.92 <= coverage <= 0.975, coverage


def test_word_level_resampling_would_be_too_narrow():
    # Why utterances are the unit: with clustered errors, the item bootstrap is wider than a binomial interval
    # that treats every word as independent.
    rng = np.random.default_rng(11)
    errors, lengths = _simulated_edits(rng, 200, 0.12)
    ci = stats.rate_interval(errors, lengths, seed=0)
    p, words = errors.sum() / lengths.sum(), lengths.sum()
    word_half_width = 1.96 * np.sqrt(p * (1 - p) / words)
    assert (ci.high - ci.low) / 2 > 1.3 * word_half_width


def test_corpus_rate_estimate_is_the_summed_edit_rate_and_edit_counts_are_accepted():
    counts = [
        EditCounts(1, 0, 0, 10),
        EditCounts(0, 2, 1, 5),
        EditCounts(0, 0, 0, 20),
        EditCounts(4, 0, 0, 8),
    ]
    ci = stats.corpus_rate_interval(counts, n_resamples=1000)
    assert ci.estimate == pytest.approx(corpus_rate(counts))  # 8 / 43, not the mean of per-item rates
    assert ci.estimate == pytest.approx(8 / 43)
    assert ci.low <= ci.estimate <= ci.high
    assert ci.n == 4 and ci.n_resamples == 1000 and ci.seed == 0


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_intervals_agree_with_scipy_bootstrap(method):
    # Same definition, independent random streams: with 100k resamples the ends agree to Monte Carlo error.
    rng = np.random.default_rng(3)
    x = rng.exponential(1.0, 40)
    ours = stats.mean_interval(x, n_resamples=100_000, method=method)
    ref = bootstrap((x,), np.mean, n_resamples=100_000, random_state=1, method=method, vectorized=True)
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.01)

    errors, lengths = _simulated_edits(rng, 60, 0.1)

    def ratio(e, n, axis=-1):
        return e.sum(axis) / n.sum(axis)

    ours = stats.rate_interval(errors, lengths, n_resamples=100_000, method=method)
    ref = bootstrap(
        (errors, lengths),
        ratio,
        paired=True,
        n_resamples=100_000,
        random_state=1,
        method=method,
        vectorized=True,
    )
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.002)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.002)


def test_same_seed_same_interval_other_seed_other_interval():
    x = np.random.default_rng(0).normal(size=300)
    assert stats.mean_interval(x, seed=5) == stats.mean_interval(x, seed=5)
    assert stats.mean_interval(x, seed=5).low != stats.mean_interval(x, seed=6).low


def test_constant_values_give_a_zero_width_interval():
    ci = stats.mean_interval(np.full(50, 4.64))
    assert ci.low == ci.estimate == ci.high == pytest.approx(4.64)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        stats.mean_interval([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        stats.mean_interval([1.0])
    with pytest.raises(ValueError, match="differ in length"):
        stats.rate_interval([1, 2], [3, 4, 5])
    with pytest.raises(ValueError, match="no reference word"):
        stats.rate_interval([1, 2], [0, 0])
    with pytest.raises(ValueError, match="method"):
        stats.mean_interval([1.0, 2.0], method="normal")


def test_ten_thousand_resamples_of_a_thousand_items_take_well_under_a_second():
    x = np.random.default_rng(0).normal(size=1000)
    lengths = np.random.default_rng(1).integers(3, 40, size=1000)
    errors = np.random.default_rng(2).binomial(lengths, 0.1)
    best_mean, best_rate = np.inf, np.inf
    for _ in range(2):  # best of two: the CI machine is shared
        start = time.perf_counter()
        stats.mean_interval(x, n_resamples=10_000)
        best_mean = min(best_mean, time.perf_counter() - start)
        start = time.perf_counter()
        stats.rate_interval(errors, lengths, n_resamples=10_000)
        best_rate = min(best_rate, time.perf_counter() - start)
    assert best_mean < 0.5 and best_rate < 0.5, (best_mean, best_rate)  # ~0.1 s each on an idle core


def test_format_shows_percentages():
    ci = stats.Interval(0.0455, 0.039, 0.0521, 100, 10_000, 0, "BCa bootstrap over items")
    assert ci.format(scale=100) == "4.55 [3.90, 5.21]"
    assert ci.to_dict()["n"] == 100
