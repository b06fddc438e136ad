"""Linear probes (hybridcodec.probe): known answers on data with a known linear structure."""

from __future__ import annotations

import numpy as np
import pytest

from hybridcodec import probe


def _utterance(rng, table, lag_table, n, noise):
    codes = rng.integers(0, table.shape[0], size=(n, 1))
    y = table[codes[:, 0]] + np.concatenate([np.zeros((1, table.shape[1])), lag_table[codes[:-1, 0]]])
    return codes, y + rng.normal(size=y.shape) * noise


@pytest.mark.parametrize(("context", "expected"), [(2, 1.25 / 1.5), (1, 1.0 / 1.5)])
def test_onehot_probe_reaches_the_explainable_share_of_variance(context, expected):
    # y_t = A[c_t] + B[c_{t-1}] + noise, var 1 + 0.25 + 0.25: with frame t alone a probe can explain 1 / 1.5,
    # with one frame of context 1.25 / 1.5.
    rng = np.random.default_rng(0)
    table, lag = rng.normal(size=(128, 8)), rng.normal(size=(128, 8)) * 0.5
    fit = [_utterance(rng, table, lag, 100, 0.5) for _ in range(150)]
    held = [_utterance(rng, table, lag, 100, 0.5) for _ in range(40)]
    result = probe.ridge_onehot(
        [c for c, _ in fit], [y for _, y in fit], {"held": ([c for c, _ in held], [y for _, y in held])},
        sizes=(128,), context=context,
    )["held"]  # fmt: skip
    assert result.r2 == pytest.approx(expected, abs=0.03)
    assert result.fit_frames == 15000 and result.eval_frames == 4000
    # Per-utterance sums add up to the R2 (the bootstrap over utterances resamples them).
    assert len(result.sse) == 40 and 1 - sum(result.sse) / sum(result.sst) == pytest.approx(
        result.r2, rel=1e-4
    )


def test_onehot_probe_of_unrelated_codes_explains_nothing():
    rng = np.random.default_rng(1)
    fit = [(rng.integers(0, 64, size=(80, 2)), rng.normal(size=(80, 4))) for _ in range(100)]
    held = [(rng.integers(0, 64, size=(80, 2)), rng.normal(size=(80, 4))) for _ in range(30)]
    result = probe.ridge_onehot(
        [c for c, _ in fit], [y for _, y in fit], {"held": ([c for c, _ in held], [y for _, y in held])},
        sizes=(64, 64), context=3,
    )["held"]  # fmt: skip
    assert result.r2 == pytest.approx(0.0, abs=0.03)
    assert result.ridge == max(probe.ONEHOT_LAMBDAS)  # the strongest shrinkage wins on noise


def test_dense_probe_recovers_a_linear_map():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(5, 3))
    xs = [rng.normal(size=(60, 5)) for _ in range(50)]
    ys = [x @ w + 2.0 + rng.normal(size=(60, 3)) * 0.1 for x in xs]
    result = probe.ridge_dense(xs[:40], ys[:40], xs[40:], ys[40:])
    assert result.r2 > 0.99


def test_onehot_design_has_one_column_per_lag_codebook_and_entry():
    codes = np.array([[1, 0], [2, 3]])
    x = probe.onehot_design(codes, (4, 4), context=2).toarray()
    assert x.shape == (2, 16)
    assert np.flatnonzero(x[0]).tolist() == [1, 4]  # lag 0: entry 1 of codebook 0, entry 0 of codebook 1
    assert np.flatnonzero(x[1]).tolist() == [2, 7, 9, 12]  # lag 0: 2 and 3 (+4); lag 1: 1 (+8) and 0 (+12)


def test_causal_context_only_looks_back():
    x = np.arange(6, dtype=float).reshape(3, 2)
    assert probe.causal_context(x, 2).tolist() == [[0, 1, 0, 0], [2, 3, 0, 1], [4, 5, 2, 3]]
