"""X-Codec adapter == transformers' XcodecModel bandwidth paths, on a random model saved with save_pretrained.

The random model keeps the default acoustic (DAC) configuration and a 2-layer HuBERT of the default width, so the
semantic branch runs exactly as in the published model but the test stays small.
"""

from __future__ import annotations

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

from hybridbench.codecs.xcodec import XcodecHubertLibrispeech as Xcodec
from hybridbench.errors import HybridbenchError

CLIP = 3200  # 0.2 s at 16 kHz: 10 frames at 50 Hz


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from transformers import XcodecConfig, XcodecModel

    torch.manual_seed(0)
    config = XcodecConfig(semantic_model_config={"num_hidden_layers": 2, "intermediate_size": 64})
    ref = XcodecModel(config).eval()
    wav = speechlike(2, CLIP, 16000)
    # The RVQ codebooks start at zero (filled during training). Fill them as k-means would start, from the
    # quantizer's input on other audio (first codebook) and differences of it (residual codebooks).
    with torch.no_grad():
        other = speechlike(4, 16000, 16000, seed=7)
        semantic = ref.encoder_semantic(ref._extract_semantic_features(other).transpose(1, 2))
        acoustic = ref.acoustic_encoder(other)
        frames = ref.fc(torch.cat([acoustic[..., : semantic.shape[-1]], semantic], dim=1).transpose(1, 2))
        frames = frames.reshape(-1, frames.shape[-1])
    g = torch.Generator().manual_seed(3)
    for i, vq in enumerate(ref.quantizer.quantizers):
        idx = torch.randint(0, frames.shape[0], (2, config.codebook_size), generator=g)
        vq.codebook.embed.copy_(frames[idx[0]] if i == 0 else 0.5 * (frames[idx[0]] - frames[idx[1]]))
    folder = tmp_path_factory.mktemp("xcodec")
    ref.save_pretrained(folder)
    ours = Xcodec.load(weights=str(folder))
    return ours, ref, wav, ours.encode(wav), folder


def test_bitrates_and_metadata():
    from transformers import XcodecConfig, XcodecModel

    info = Xcodec.describe()
    for kbps, depth in Xcodec.published_bandwidths.items():
        assert info.bitrate(depth) == kbps * 1000
    config = XcodecConfig()
    assert (config.sample_rate, config.frame_rate, config.num_quantizers, config.codebook_size) == (
        16000,
        50,
        8,
        1024,
    )
    with torch.device("meta"):
        model = XcodecModel(config)
    assert sum(p.numel() for p in model.parameters()) == info.parameters
    assert sum(p.numel() for p in model.semantic_model.parameters()) == Xcodec.ssl_parameters
    assert info.needs_ssl_at_inference and info.causal is False


@torch.inference_mode()
def test_published_bandwidths_equal_the_package(setup):
    ours, ref, wav, codes, _ = setup
    assert codes.shape == (2, 8, 10) and codes.dtype == torch.int64
    assert len(torch.unique(codes[:, 0])) > 1
    for kbps, k in Xcodec.published_bandwidths.items():
        expected = ref.encode(wav, bandwidth=kbps, return_dict=True).audio_codes
        assert torch.equal(codes[:, :k], expected), f"{kbps} kbps"
        assert torch.equal(ours.decode(codes[:, :k]), ref.decode(expected, return_dict=True).audio_values)


def test_prefix_decoding_and_length(setup):
    ours, _, wav, codes, _ = setup
    check_prefix_decoding(ours, codes, 1)
    assert ours.decode(codes[:, :1], length=CLIP).shape == wav.shape


def test_weights(setup, tmp_path):
    from transformers import XcodecConfig, XcodecModel

    *_, folder = setup
    assert Xcodec.weights_status().hint == "hybridbench weights fetch xcodec-hubert-librispeech"
    assert Xcodec.weights_status(str(folder)).available
    other = XcodecConfig(
        sample_rate=24000, semantic_model_config={"num_hidden_layers": 1, "intermediate_size": 8}
    )
    XcodecModel(other).save_pretrained(tmp_path)
    with pytest.raises(HybridbenchError, match="expected"):
        Xcodec.load(weights=str(tmp_path))
