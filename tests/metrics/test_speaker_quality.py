"""Speaker similarity and reference-free quality: real models on real synthesized speech.

Resemblyzer and DNSMOS run offline from their wheels. The WavLM verifier and UTMOS need the Hugging Face hub:
here they are tested for their loading paths (a local folder; a clear error offline), not for their numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from hybridbench.audio import load_audio
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS, MetricFailure
from hybridbench.suites.synthetic import render_pico

TEXT_A = "The weather report says it will rain over the northern hills tomorrow afternoon."
TEXT_B = "Please bring seven wooden chairs into the kitchen before the guests arrive tonight."


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    """The same sentence in the en-US and en-GB Pico voices, and another sentence in the en-US voice."""
    folder = tmp_path_factory.mktemp("voices")
    out = {}
    for key, text, voice in (("us_a", TEXT_A, "en-US"), ("us_b", TEXT_B, "en-US"), ("gb_a", TEXT_A, "en-GB")):
        render_pico(text, voice, folder / f"{key}.wav")
        out[key] = load_audio(folder / f"{key}.wav")[0]
    return out


def _noise_at(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(x.shape)
    noise *= np.sqrt(np.sum(x.astype(np.float64) ** 2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def test_resemblyzer_similarity_separates_voices(voices):
    metric = METRICS.get("speaker-sim-resemblyzer")()
    us_a, us_b, gb_a = voices["us_a"], voices["us_b"], voices["gb_a"]
    assert metric(us_a, us_a) == pytest.approx(1.0, abs=1e-4)
    same_speaker = metric(us_a, us_b)  # different words, same voice
    other_speaker = metric(us_a, gb_a)  # same words, other voice (embeddings need no equal lengths)
    assert other_speaker < 0.9
    assert same_speaker > other_speaker + 0.03


@pytest.mark.slow
def test_resemblyzer_similarity_falls_with_noise(voices):
    # Noise moves the embedding away from the clean speaker, graded with the noise level.
    metric = METRICS.get("speaker-sim-resemblyzer")()
    us_a = voices["us_a"]
    assert metric(us_a, _noise_at(us_a, 0)) < metric(us_a, _noise_at(us_a, 20)) < 1.0


def test_resemblyzer_fails_on_silence_instead_of_scoring_it(voices):
    metric = METRICS.get("speaker-sim-resemblyzer")()
    with pytest.raises(MetricFailure, match="voiced audio"):
        metric(voices["us_a"], np.zeros_like(voices["us_a"]))


def test_speaker_metrics_declare_their_semantics():
    for name in ("speaker-sim-resemblyzer", "speaker-sim-wavlm"):
        spec = METRICS.get(name).spec
        assert spec.higher_is_better and spec.needs_reference and spec.sample_rate == 16000
        assert spec.unit == "cosine"
    for name in ("dnsmos-ovrl", "dnsmos-sig", "dnsmos-bak", "dnsmos-p808", "utmos"):
        spec = METRICS.get(name).spec
        assert spec.higher_is_better and not spec.needs_reference and spec.unit == "MOS"


def test_wavlm_loads_from_a_local_folder(tmp_path, voices):
    # A tiny random WavLM x-vector model saved like a downloaded one: the loading path and the cosine, not the
    # verifier's accuracy (the real weights are on the hub). Total conv stride 320, 50 frames/s like the real one.
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    config = WavLMConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32),
        conv_stride=(16, 20),
        conv_kernel=(32, 40),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        tdnn_dim=(32, 32, 64),
        tdnn_kernel=(5, 3, 1),
        tdnn_dilation=(1, 2, 1),
        xvector_output_dim=16,
        num_buckets=32,
        max_bucket_distance=64,
    )
    WavLMForXVector(config).save_pretrained(tmp_path)
    Wav2Vec2FeatureExtractor(
        sampling_rate=16000, do_normalize=True, return_attention_mask=True
    ).save_pretrained(tmp_path)
    metric = METRICS.get("speaker-sim-wavlm")(model=tmp_path)
    assert str(tmp_path) in metric.spec.version and metric.spec.name == "speaker-sim-wavlm"
    x = voices["us_a"]
    assert metric(x, x) == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= metric(x, _noise_at(x, 0)) < 1.0 - 1e-4


def test_wavlm_offline_is_a_clear_error(monkeypatch):
    import huggingface_hub.constants

    # Offline for real (no network here); the flag only skips huggingface_hub's minute of retries.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("HYBRIDBENCH_WAVLM_SV", raising=False)
    with pytest.raises(HybridbenchError, match="cannot load 'microsoft/wavlm-base-plus-sv'") as err:
        METRICS.get("speaker-sim-wavlm")()
    assert "HYBRIDBENCH_WAVLM_SV" in str(err.value) and "\n" not in str(err.value)


def test_utmos_without_its_package_is_a_clear_error():
    from importlib.util import find_spec

    if find_spec("utmos_pytorch") is not None:
        pytest.skip("utmos-pytorch is installed here: its download path needs the hub")
    with pytest.raises(HybridbenchError, match="pip install utmos-pytorch==0.1.0"):
        METRICS.get("utmos")()


@pytest.fixture(scope="module")
def long_speech(synthetic_en_items):
    """About 9.5 s of clean synthesized speech: one DNSMOS window, the cheapest length to score."""
    parts = [load_audio(item.audio_path)[0] for item in synthetic_en_items[:6]]
    x = np.concatenate(parts)[: int(9.5 * 16000)]
    assert x.size == int(9.5 * 16000)
    return x


def test_dnsmos_falls_with_noise_and_equals_speechmos(long_speech):
    from speechmos import dnsmos

    names = ("dnsmos-ovrl", "dnsmos-sig", "dnsmos-bak", "dnsmos-p808")
    metrics = {name: METRICS.get(name)() for name in names}
    unused = np.zeros_like(long_speech)  # reference-free: the reference is not read
    scores = {
        level: {name: m(unused, signal) for name, m in metrics.items()}
        for level, signal in (
            ("clean", long_speech),
            ("20 dB", _noise_at(long_speech, 20)),
            ("0 dB", _noise_at(long_speech, 0)),
        )
    }
    for name in ("dnsmos-ovrl", "dnsmos-bak", "dnsmos-p808"):
        assert 1.0 <= scores["0 dB"][name] < scores["20 dB"][name] < scores["clean"][name] <= 5.0, name
    assert scores["clean"]["dnsmos-ovrl"] - scores["0 dB"]["dnsmos-ovrl"] > 0.5
    assert scores["clean"]["dnsmos-bak"] - scores["0 dB"]["dnsmos-bak"] > 1.5  # BAK is the noise score
    # SIG rates the speech itself, not the noise: on Pico's synthetic speech white noise does not lower it
    # (DNSMOS's SIG is known to be insensitive to additive noise), so only its range is checked.
    assert all(1.0 <= scores[level]["dnsmos-sig"] <= 5.0 for level in scores)
    direct = dnsmos.run(long_speech, sr=16000)
    for key in ("ovrl", "sig", "bak", "p808"):
        assert scores["clean"][f"dnsmos-{key}"] == pytest.approx(float(direct[f"{key}_mos"]), abs=1e-5)


def test_dnsmos_refuses_clips_under_a_second():
    with pytest.raises(MetricFailure, match="shorter than 1 s"):
        METRICS.get("dnsmos-ovrl")()(np.zeros(8000, np.float32), np.full(8000, 0.1, np.float32))
