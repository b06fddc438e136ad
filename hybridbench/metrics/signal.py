"""Signal metrics that compare the decoded audio with the original: PESQ (wideband) and STOI.

Both run at 16 kHz on equal-length signals (the runner resamples and length-matches). PESQ's band is part of
the metric's name because wideband and narrowband scores are not comparable. Failures are raised, never
replaced by a number.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version

import numpy as np

from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec

SILENCE_PEAK = 1e-4  # -80 dBFS


class PesqWideband(Metric):
    spec = MetricSpec(
        name="pesq-wb",
        version=f"pesq {version('pesq')}",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="MOS-LQO",
        description="ITU-T P.862.2 wideband PESQ at 16 kHz (range about 1.04 to 4.64)",
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        from pesq import NoUtterancesError, PesqError, pesq

        try:
            return pesq(self.spec.sample_rate, reference, degraded, "wb")
        except NoUtterancesError as exc:
            raise MetricFailure("PESQ found no utterance in the reference (silent or too short)") from exc
        except PesqError as exc:
            raise MetricFailure(f"PESQ failed: {type(exc).__name__}: {exc}") from exc


class Stoi(Metric):
    spec = MetricSpec(
        name="stoi",
        version=f"pystoi {version('pystoi')}",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        description="short-time objective intelligibility (0 to 1), pystoi, resampled to 10 kHz internally",
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        from pystoi import stoi

        # STOI is scale-invariant, so a silent (or digitally near-silent) reference would score as if it
        # were speech; below -80 dBFS peak there is nothing to be intelligible.
        if np.max(np.abs(reference), initial=0.0) < SILENCE_PEAK:
            raise MetricFailure("STOI: the reference is silent (peak below -80 dBFS)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = stoi(reference, degraded, self.spec.sample_rate, extended=False)
        # pystoi returns 1e-5 with only a warning when the reference has too few non-silent frames.
        for w in caught:
            if "Not enough STFT frames" in str(w.message):
                raise MetricFailure("STOI: reference has too few non-silent frames (silent or under ~0.4 s)")
        return value
