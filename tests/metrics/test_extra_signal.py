"""PESQ-NB, ESTOI, SI-SDR and mel distance: known answers, equality with direct library calls, failures raised."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio
from pesq import pesq
from pystoi import stoi

from hybridbench.audio import load_tensor
from hybridbench.metrics import METRICS, MetricFailure


@pytest.fixture(scope="module")
def speech(synthetic_en_items):
    return load_tensor(synthetic_en_items[0].audio_path, 16000)[0, 0].numpy()


def _noise_at(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """White noise scaled so that 10 log10(|x|^2 / |noise|^2) is exactly `snr_db`."""
    noise = np.random.default_rng(seed).standard_normal(x.shape)
    noise *= np.sqrt(np.sum(x.astype(np.float64) ** 2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return noise.astype(np.float32)


def test_all_four_are_registered_with_their_semantics():
    for name, higher in (("pesq-nb", True), ("estoi", True), ("si-sdr", True), ("mel-distance", False)):
        spec = METRICS.get(name).spec
        assert spec.name == name and spec.higher_is_better is higher
        assert spec.needs_reference and spec.sample_rate == 16000 and spec.description


def test_pesq_nb_equals_a_direct_call_on_the_8khz_signals(speech):
    degraded = speech + _noise_at(speech, 15)
    # The documented resampler: torchaudio's sinc_interp_hann, width 6, rolloff 0.99, 16 -> 8 kHz.
    to8 = torchaudio.transforms.Resample(
        16000, 8000, resampling_method="sinc_interp_hann", lowpass_filter_width=6, rolloff=0.99
    )
    ref8 = to8(torch.from_numpy(speech)).numpy()
    deg8 = to8(torch.from_numpy(degraded)).numpy()
    metric = METRICS.get("pesq-nb")()
    assert metric(speech, degraded) == pytest.approx(pesq(8000, ref8, deg8, "nb"), abs=1e-6)
    assert metric(speech, speech) == pytest.approx(4.549, abs=0.01)  # P.862.1's maximum
    assert metric(speech, speech + _noise_at(speech, 0)) < metric(speech, degraded) < 4.0


def test_estoi_equals_pystoi_and_falls_with_noise(speech):
    metric = METRICS.get("estoi")()
    mild, harsh = speech + _noise_at(speech, 20), speech + _noise_at(speech, 0)
    assert metric(speech, speech) == pytest.approx(1.0, abs=1e-6)
    assert metric(speech, mild) == pytest.approx(stoi(speech, mild, 16000, extended=True))
    assert metric(speech, harsh) < metric(speech, mild) < 0.95


def test_si_sdr_known_answers(speech):
    metric = METRICS.get("si-sdr")()
    assert metric(speech, speech) > 150  # capped near 156.5 dB instead of infinity
    # Noise at 10 dB SNR: the SI-SDR is 10 dB up to the small correlation of the noise with the speech.
    for seed in range(3):
        assert metric(speech, speech + _noise_at(speech, 10, seed)) == pytest.approx(10.0, abs=0.1)
    # Scale-invariant: a gain on the output changes nothing; an offset is removed with the mean.
    noisy = speech + _noise_at(speech, 10)
    assert metric(speech, 0.25 * noisy) == pytest.approx(metric(speech, noisy), abs=1e-6)
    # A one-sample delay is a real error for a sample-aligned metric.
    assert metric(speech, np.roll(speech, 1)) < 30


def test_si_sdr_undefined_cases_are_failures(speech):
    metric = METRICS.get("si-sdr")()
    with pytest.raises(MetricFailure, match="reference is silent"):
        metric(np.zeros_like(speech), speech)
    with pytest.raises(MetricFailure, match="all zeros"):
        metric(speech, np.zeros_like(speech))


def test_mel_distance_definition_and_ordering(speech):
    metric = METRICS.get("mel-distance")()
    assert metric(speech, speech) == 0.0
    d20, d0 = metric(speech, speech + _noise_at(speech, 20)), metric(speech, speech + _noise_at(speech, 0))
    assert 0 < d20 < d0
    # Recompute from the stated definition with an independent STFT (torch.stft + torchaudio's mel filters).
    window = torch.hann_window(1024)
    fb = torchaudio.functional.melscale_fbanks(513, 0.0, 8000.0, 80, 16000, norm=None, mel_scale="htk")

    def log_mel(x):
        spec = torch.stft(
            torch.from_numpy(x), 1024, 256, 1024, window, center=True, pad_mode="reflect", return_complex=True
        ).abs()
        return torch.log10((fb.T @ spec).clamp(min=1e-5))

    degraded = speech + _noise_at(speech, 20)
    expected = (log_mel(speech) - log_mel(degraded)).abs().mean().item()
    assert d20 == pytest.approx(expected, rel=1e-4)
    # Not scale-invariant, by design: halving the gain is a distance of log10(2) in every non-floored bin.
    assert metric(speech, 0.5 * speech) == pytest.approx(np.log10(2), rel=0.05)


def test_silent_reference_fails_for_pesq_nb_and_estoi(speech):
    silent = np.zeros_like(speech)
    with pytest.raises(MetricFailure, match="no utterance"):
        METRICS.get("pesq-nb")()(silent, speech)
    with pytest.raises(MetricFailure, match="silent"):
        METRICS.get("estoi")()(silent, speech)
