"""PESQ-WB and STOI: equal to direct library calls, maximal on identity, lower on degradations, and failures
raised (never replaced by a number)."""

from __future__ import annotations

import numpy as np
import pytest
from pesq import pesq
from pystoi import stoi

from hybridbench.audio import load_tensor
from hybridbench.metrics import METRICS, MetricFailure


@pytest.fixture(scope="module")
def speech(synthetic_en_items):
    return load_tensor(synthetic_en_items[0].audio_path, 16000)[0, 0].numpy()


def _noisy(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(x.shape).astype(np.float32)
    noise *= np.sqrt(np.mean(x**2) / (10 ** (snr_db / 10)) / np.mean(noise**2))
    return (x + noise).astype(np.float32)


def test_identity_scores_at_the_maxima(speech):
    assert METRICS.get("pesq-wb")()(speech, speech) == pytest.approx(4.644, abs=0.01)
    assert METRICS.get("stoi")()(speech, speech) == pytest.approx(1.0, abs=1e-6)


def test_scores_equal_direct_library_calls_and_fall_with_noise(speech):
    p, s = METRICS.get("pesq-wb")(), METRICS.get("stoi")()
    mild, harsh = _noisy(speech, 20), _noisy(speech, 0)
    assert p(speech, mild) == pytest.approx(pesq(16000, speech, mild, "wb"))
    assert s(speech, mild) == pytest.approx(stoi(speech, mild, 16000, extended=False))
    assert p(speech, harsh) < p(speech, mild) < 4.0
    assert p(speech, harsh) < 1.6
    assert s(speech, harsh) < s(speech, mild) < 0.99


def test_silent_reference_is_a_failure_not_a_number(speech):
    silent = np.zeros_like(speech)
    with pytest.raises(MetricFailure, match="no utterance"):
        METRICS.get("pesq-wb")()(silent, speech)
    with pytest.raises(MetricFailure, match="silent"):
        METRICS.get("stoi")()(silent, speech)


def test_metrics_declare_their_semantics():
    spec = METRICS.get("pesq-wb").spec
    assert spec.higher_is_better and spec.needs_reference and spec.sample_rate == 16000
    assert spec.version.startswith("pesq ")
