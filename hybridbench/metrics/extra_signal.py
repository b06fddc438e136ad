"""More signal metrics against the original: PESQ narrowband, extended STOI, SI-SDR and a log-mel distance.

The runner hands every metric 16 kHz mono float32 signals of equal length. PESQ narrowband (ITU-T P.862,
with the P.862.1 mapping to MOS-LQO that the `pesq` package applies) is defined at 8 kHz only, so both
signals are resampled to 8 kHz inside the metric with the project's one resampler (`hybridbench.audio`:
torchaudio.functional.resample, sinc_interp_hann, lowpass_filter_width=6, rolloff=0.99). Its scores are not
comparable with PESQ wideband's, hence a separate name. Failures are raised with a reason, never replaced
by a number.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version

import numpy as np
import torch

from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec
from hybridbench.metrics.signal import PESQ_MAX_SECONDS, SILENCE_PEAK, check_pesq_length

PESQ_NB_RATE = 8000


def _resample(x: np.ndarray, orig: int, new: int) -> np.ndarray:
    from hybridbench.audio import resample

    return resample(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), orig, new).numpy()


class PesqNarrowband(Metric):
    spec = MetricSpec(
        name="pesq-nb",
        version=f"pesq {version('pesq')}; torchaudio {version('torchaudio')} resample 16->8 kHz",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="MOS-LQO",
        description=(
            "ITU-T P.862 narrowband PESQ (P.862.1 MOS-LQO mapping, range about 1.02 to 4.55) on both signals "
            "resampled from 16 to 8 kHz; not comparable with pesq-wb; signals over "
            f"{PESQ_MAX_SECONDS:.0f} s are a recorded failure (the pesq library can crash on them)"
        ),
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        from pesq import NoUtterancesError, PesqError, pesq

        # The crash depends on duration, not on rate (see metrics/signal.py), so the same bound holds at 8 kHz.
        check_pesq_length(reference, degraded, self.spec.sample_rate, self.spec.name)
        ref8 = _resample(reference, self.spec.sample_rate, PESQ_NB_RATE)
        deg8 = _resample(degraded, self.spec.sample_rate, PESQ_NB_RATE)
        try:
            return pesq(PESQ_NB_RATE, ref8, deg8, "nb")
        except NoUtterancesError as exc:
            raise MetricFailure("PESQ found no utterance in the reference (silent or too short)") from exc
        except PesqError as exc:
            raise MetricFailure(f"PESQ failed: {type(exc).__name__}: {exc}") from exc


class ExtendedStoi(Metric):
    spec = MetricSpec(
        name="estoi",
        version=f"pystoi {version('pystoi')}",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        description=(
            "extended STOI (Jensen & Taal 2016; pystoi extended=True, resampled to 10 kHz internally); "
            "unlike STOI it accounts for modulation-domain correlations, so it tracks fluctuating distortions"
        ),
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        from pystoi import stoi

        # The same guards as STOI (see metrics/signal.py): scale invariance makes a silent reference "perfect".
        if np.max(np.abs(reference), initial=0.0) < SILENCE_PEAK:
            raise MetricFailure("ESTOI: the reference is silent (peak below -80 dBFS)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = stoi(reference, degraded, self.spec.sample_rate, extended=True)
        for w in caught:
            if "Not enough STFT frames" in str(w.message):
                raise MetricFailure("ESTOI: reference has too few non-silent frames (silent or under ~0.4 s)")
        return value


# A perfect reconstruction has zero error energy: SI-SDR is then capped at 10*log10(1/eps64) ~ 156.5 dB instead
# of infinity, so identity rows stay finite and averageable. The floor is relative to the target energy, which
# keeps the metric scale-invariant.
_SI_SDR_EPS = float(np.finfo(np.float64).eps)


class SiSdr(Metric):
    spec = MetricSpec(
        name="si-sdr",
        version="1",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="dB",
        description=(
            "scale-invariant SDR (Le Roux et al. 2019) on zero-mean signals: 10 log10(|a s|^2 / |a s - y|^2) with "
            "a = <y, s> / |s|^2; sample-aligned, so a codec's delay lowers it; capped at about 156.5 dB"
        ),
    )

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        s = np.asarray(reference, dtype=np.float64)
        y = np.asarray(degraded, dtype=np.float64)
        s = s - s.mean()
        y = y - y.mean()
        ref_energy = float(np.dot(s, s))
        if np.max(np.abs(s), initial=0.0) < SILENCE_PEAK or ref_energy == 0.0:
            raise MetricFailure(
                "SI-SDR: the reference is silent (peak below -80 dBFS); the ratio is undefined"
            )
        if not np.any(y):
            raise MetricFailure("SI-SDR: the decoded signal is all zeros; the ratio is undefined")
        target = (np.dot(y, s) / ref_energy) * s
        target_energy = float(np.dot(target, target))
        error = y - target
        floor = _SI_SDR_EPS * ref_energy
        return 10.0 * np.log10((target_energy + floor) / (float(np.dot(error, error)) + floor))


class MelDistance(Metric):
    """L1 distance between log-mel spectrograms, a common codec reconstruction measure (lower is better)."""

    N_FFT = 1024  # 64 ms windows at 16 kHz (Hann)
    HOP = 256  # 16 ms
    N_MELS = 80
    F_MIN, F_MAX = 0.0, 8000.0
    FLOOR = 1e-5  # magnitude floor before log10: -100 dB, so silent frames do not dominate

    spec = MetricSpec(
        name="mel-distance",
        version=f"1; torchaudio {version('torchaudio')}",
        higher_is_better=False,
        needs_reference=True,
        sample_rate=16000,
        unit="log10 magnitude",
        description=(
            "mean |log10 max(M_ref, 1e-5) - log10 max(M_deg, 1e-5)| over frames and bands, M = 80-band HTK mel "
            "magnitude spectrogram (n_fft 1024, Hann window 1024, hop 256, 0-8 kHz, centred) at 16 kHz; "
            "not scale-invariant: a gain change counts"
        ),
    )

    def __init__(self) -> None:
        import torchaudio

        self._mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=self.spec.sample_rate,
            n_fft=self.N_FFT,
            win_length=self.N_FFT,
            hop_length=self.HOP,
            f_min=self.F_MIN,
            f_max=self.F_MAX,
            n_mels=self.N_MELS,
            power=1.0,
            center=True,
            mel_scale="htk",
        )

    def log_mel(self, x: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            mel = self._mel(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return torch.log10(mel.clamp(min=self.FLOOR))

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        if reference.shape != degraded.shape:
            raise MetricFailure(f"mel-distance: lengths differ ({reference.shape} vs {degraded.shape})")
        return float((self.log_mel(reference) - self.log_mel(degraded)).abs().mean())
