"""Teachers: the layer index, normalisation and 50 Hz -> 25 Hz pooling, on real Whisper-base and a tiny w2v-BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

from hybridcodec.teachers import TeacherSpec, make_teacher


@pytest.fixture(scope="module")
def tiny_w2v_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 3-layer Wav2Vec2Bert + the SeamlessM4T feature extractor, saved as a local folder."""
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    torch.manual_seed(0)
    config = Wav2Vec2BertConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
        output_hidden_size=32, conv_depthwise_kernel_size=3, position_embeddings_type="relative_key",
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("w2v-bert-tiny")
    Wav2Vec2BertModel(config).save_pretrained(folder)
    SeamlessM4TFeatureExtractor().save_pretrained(folder)
    return folder


def test_w2v_bert_layer_pooling_and_normalisation(
    tiny_w2v_bert: Path, speech_batch: torch.Tensor, tmp_path: Path
):
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

    wav = speech_batch[0, 0]  # 1 s at 16 kHz
    teacher = make_teacher(TeacherSpec(name="w2v-bert-2.0", source=str(tiny_w2v_bert), layer=2))
    assert teacher.dim == 32
    feats = teacher.features_at(wav, sample_rate=16000, frame_rate=25.0, n_frames=25)
    assert feats.shape == (25, 32)
    # The same by hand: hidden_states[2] (output of the second conformer layer), mean of frame pairs.
    extractor = SeamlessM4TFeatureExtractor.from_pretrained(tiny_w2v_bert)
    model = Wav2Vec2BertModel.from_pretrained(tiny_w2v_bert).eval()
    with torch.no_grad():
        hidden = model(
            **extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt"), output_hidden_states=True
        )
    h = hidden.hidden_states[2][0]
    assert 48 <= h.shape[0] <= 50  # 50 Hz
    torch.testing.assert_close(feats[:3], (h[0:6:2] + h[1:6:2]) / 2)
    assert not torch.allclose(
        feats[:3], ((hidden.hidden_states[3][0][0:6:2] + hidden.hidden_states[3][0][1:6:2]) / 2)
    )
    # Mean/variance normalisation from a stats file.
    stats = tmp_path / "stats.pt"
    mean, var = torch.randn(32), torch.rand(32) + 0.5
    torch.save({"mean": mean, "var": var}, stats)
    normed = make_teacher(
        TeacherSpec(name="w2v-bert-2.0", source=str(tiny_w2v_bert), layer=2, stats=str(stats))
    )
    out = normed.features_at(wav, sample_rate=16000, frame_rate=25.0, n_frames=25)
    # Pooling is linear, so normalise-then-pool = pool-then-normalise.
    torch.testing.assert_close(out, (feats - mean) / var.sqrt(), rtol=1e-4, atol=1e-5)


def test_whisper_base_encoder_features(speech_dir: Path):
    teacher = make_teacher(TeacherSpec(name="whisper-base-encoder"))
    audio, sr = sf.read(speech_dir / "utt0.wav", dtype="float32")
    wav = torch.from_numpy(audio)
    native = teacher.features(wav)
    assert teacher.dim == 512 and native.shape == (-(-len(audio) // 320), 512)
    at25 = teacher.features_at(wav, sample_rate=sr, frame_rate=25.0, n_frames=10)
    torch.testing.assert_close(at25, (native[0:20:2] + native[1:20:2]) / 2)
    # Speech and silence give different features (the encoder is real, not a constant).
    silence = teacher.features_at(torch.zeros(16000), sample_rate=16000, frame_rate=25.0, n_frames=10)
    assert (at25 - silence).abs().mean() > 0.1
    # 24 kHz input (the paper preset) is resampled to the teacher's 16 kHz first: same frame count.
    from hybridbench.audio import resample

    at24k = teacher.features_at(resample(wav, 16000, 24000), sample_rate=24000, frame_rate=25.0, n_frames=10)
    assert (
        at24k.shape == (10, 512) and torch.nn.functional.cosine_similarity(at24k, at25, dim=-1).mean() > 0.9
    )
