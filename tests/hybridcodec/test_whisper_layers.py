"""Whisper's encoder in PyTorch from the CTranslate2 weights: equal to CTranslate2's own encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridcodec.errors import HybridcodecError
from hybridcodec.teachers import TeacherSpec, cache_id, make_teacher


@pytest.fixture(scope="module")
def whisper_dir():
    from hybridbench.whisper_models import whisper_model_dir

    return whisper_model_dir("whisper-base")


def test_torch_encoder_equals_ctranslate2_in_float32(whisper_dir):
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    from hybridcodec.whisper_layers import encoder_from_ct2

    rng = np.random.default_rng(0)
    audio = (np.sin(np.arange(16000) / 7.0) * 0.1 + rng.normal(size=16000) * 0.01).astype(np.float32)
    mel = FeatureExtractor(feature_size=80)(audio, padding=30 * 16000 - len(audio))[:, :3000]
    model = ctranslate2.models.Whisper(
        str(whisper_dir), device="cpu", compute_type="float32", intra_threads=1
    )
    expected = np.array(
        model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None])), to_cpu=True)
    )
    encoder = encoder_from_ct2(whisper_dir)
    with torch.inference_mode():
        out = encoder(torch.from_numpy(mel)[None].float(), output_hidden_states=True)
    got = out.last_hidden_state.numpy()
    assert got.shape == expected.shape == (1, 1500, 512)
    assert np.sqrt(((got - expected) ** 2).mean() / (expected**2).mean()) < 1e-4
    assert len(out.hidden_states) == 7  # the embeddings and Whisper base's 6 blocks


def test_a_whisper_layer_teacher_reads_that_block_and_has_its_own_cache(whisper_dir):
    spec = TeacherSpec(name="whisper-base-encoder", layer=3)
    teacher = make_teacher(spec)
    feats = teacher.features(torch.zeros(16000))
    assert feats.shape == (50, 512) and torch.isfinite(feats).all()
    assert cache_id(spec) != cache_id(TeacherSpec(name="whisper-base-encoder"))
    assert cache_id(spec).endswith("float32")
    with pytest.raises(HybridcodecError, match="layer 9 out of range"):
        make_teacher(TeacherSpec(name="whisper-base-encoder", layer=9))
