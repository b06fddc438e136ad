"""The inference optimisations of the paper-size speed benchmark, on tiny models built from the same layers
(the paper-size models, w2v-BERT 2.0 above all, are too big for unit tests)."""

from __future__ import annotations

import math

import pytest
import torch

from hybridbench.codecs.weight_norm import fold_weight_norm, weight_norm_count
from minireplication.paper_speed import (
    audio_difference,
    build_dac16,
    build_hybridcodec,
    code_agreement,
    measure_optimisations,
    optimise,
)

CPU = torch.device("cpu")
TINY_DAC = {"encoder_dim": 4, "decoder_dim": 16}


def tiny_subjects(device: torch.device) -> list:
    return [build_hybridcodec(device, preset_name="tiny"), build_dac16(device, dims=TINY_DAC)]


def dualcodec_layers() -> torch.nn.Module:
    """DualCodec's own weight-normalised layers (hook API) beside one of torch's parametrized API."""
    from dualcodec.model_codec.dac_layers import WNConv1d, WNConvTranspose1d

    new_api = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 4, 3, padding=1))
    return torch.nn.Sequential(WNConv1d(1, 4, 3, padding=1), new_api, WNConvTranspose1d(4, 1, 4, stride=2))


@pytest.mark.parametrize("which", ["hybridcodec-tiny", "dac-tiny"])
def test_folding_weight_norm_removes_every_one_and_keeps_the_audio(which):
    torch.manual_seed(0)
    subject = {s.name: s for s in tiny_subjects(CPU)}[
        "HybridCodec (paper)" if "hybrid" in which else "DAC 16 kHz"
    ]
    wav = 0.1 * torch.randn(1, 1, subject.sample_rate // 4)
    with torch.inference_mode():
        codes = subject.encode(wav)
        before = subject.decode(codes)
    model = subject.modules["codec"]
    assert weight_norm_count(model) > 0
    optimise(subject, "fold-weight-norm", CPU)
    assert weight_norm_count(model) == 0 and subject.applied.startswith("folded ")
    with torch.inference_mode():
        assert torch.equal(subject.encode(wav), codes)
        assert torch.allclose(subject.decode(codes), before, atol=1e-5)


def test_folding_handles_dualcodecs_layers_and_torchs_parametrizations():
    torch.manual_seed(0)
    layers, x = dualcodec_layers(), torch.randn(2, 1, 50)
    before = layers(x).detach()
    assert weight_norm_count(layers) == 3
    assert fold_weight_norm(layers) == 3 and weight_norm_count(layers) == 0
    assert not torch.nn.utils.parametrize.is_parametrized(layers[1])
    assert torch.allclose(layers(x), before, atol=1e-5)


def test_w2v_bert_has_no_weight_norm_to_fold():
    from transformers import Wav2Vec2BertConfig, Wav2Vec2BertModel

    config = Wav2Vec2BertConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    assert weight_norm_count(Wav2Vec2BertModel(config)) == 0


def test_output_differences_of_identical_and_perturbed_outputs():
    ref = torch.ones(1, 1, 1000)
    assert audio_difference(ref, ref.clone()) == (0.0, math.inf)
    max_abs, snr = audio_difference(ref, ref + 0.1)  # signal power 1, noise power 0.01: 20 dB
    assert max_abs == pytest.approx(0.1, rel=1e-5) and snr == pytest.approx(20.0, abs=1e-4)
    assert audio_difference(ref, (ref + 0.1).bfloat16())[1] < 20.5  # bf16 outputs are compared as float
    codes = torch.arange(8).reshape(1, 2, 4)
    assert code_agreement(codes, codes.clone()) == 1.0
    assert code_agreement((codes, codes), (codes, torch.where(codes < 4, codes, -1))) == 0.75


def test_unknown_optimisation_is_refused():
    with pytest.raises(ValueError, match="fold-weight-norm"):
        optimise(build_dac16(CPU, dims=TINY_DAC), "int8", CPU)


def test_each_optimisation_is_measured_against_none_on_the_same_weights_and_input():
    results = measure_optimisations(
        ["none", "fold-weight-norm", "bf16"], device=CPU, seconds=0.25, repeats=1, build=tiny_subjects
    )
    by = {(r.optimisation, r.name): r for r in results}
    assert len(by) == 6
    for name in ("HybridCodec (paper)", "DAC 16 kHz"):
        control, folded, bf16 = (by[o, name] for o in ("none", "fold-weight-norm", "bf16"))
        assert (control.code_agreement, control.snr_db, control.max_abs) == (1.0, math.inf, 0.0)
        assert folded.snr_db > 60 and folded.max_abs < 1e-4  # float rounding only
        assert math.isfinite(bf16.snr_db) and "CPU autocast" in bf16.applied
        assert min(control.before.values()) > 0 and min(bf16.after.values()) > 0


@pytest.mark.slow
def test_compile_is_warmed_up_outside_the_timing_and_keeps_the_output():
    (result,) = measure_optimisations(
        ["compile"], device=CPU, seconds=0.25, repeats=1, build=lambda d: [build_dac16(d, dims=TINY_DAC)]
    )
    assert result.warmup_s > 0 and result.code_agreement == 1.0 and result.snr_db > 60
