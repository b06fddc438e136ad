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

# The `pesq` package's C code (ITU-T P.862 reference) keeps the utterances it finds in fixed arrays of 50 and
# writes past them when a signal has more (ludlows/PESQ#18): the process dies with a segfault, no row is stored
# and every rerun dies on the same item. A segfault cannot be caught, so it must never be reached. The count of
# utterances depends on pauses, not only on length; measured here with pesq 0.0.4, read speech crashed from about
# 90 s (short phrases every 1.3 s) or 200 s (a sentence every 4 s), never at or below 60 s. P.862 is meant for
# recordings of a few sentences, every item of the shipped suites is under 40 s (LibriSpeech's longest is
# 35 s), so 40 s keeps them all and stays well below the shortest crash measured.
#
# A longer signal is a counted MetricFailure, not a mean over windows: P.862 aligns one recording as a whole, a
# windowed mean would cut words at the window edges and put a different quantity in the same column. Because
# every score PESQ gave before is unchanged (and longer items never produced a row), the version is not bumped.
PESQ_MAX_SECONDS = 40.0


def check_pesq_length(reference: np.ndarray, degraded: np.ndarray, sample_rate: int, metric: str) -> None:
    """Raise MetricFailure before a signal long enough to crash pesq's C code reaches it (see above)."""
    seconds = max(len(reference), len(degraded)) / sample_rate
    if seconds > PESQ_MAX_SECONDS:
        raise MetricFailure(
            f"{metric}: {seconds:.1f} s is longer than the {PESQ_MAX_SECONDS:.0f} s PESQ is run on "
            "(longer signals can crash the pesq library, ludlows/PESQ#18)"
        )


class PesqWideband(Metric):
    spec = MetricSpec(
        name="pesq-wb",
        version=f"pesq {version('pesq')}",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="MOS-LQO",
        description=(
            "ITU-T P.862.2 wideband PESQ at 16 kHz (range about 1.04 to 4.64); signals over "
            f"{PESQ_MAX_SECONDS:.0f} s are a recorded failure (the pesq library can crash on them)"
        ),
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        from pesq import NoUtterancesError, PesqError, pesq

        check_pesq_length(reference, degraded, self.spec.sample_rate, self.spec.name)
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
