"""Mimi adapter == transformers' MimiModel k-codebook paths, on a random model saved with save_pretrained."""

from __future__ import annotations

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

from hybridbench.codecs.mimi import Mimi
from hybridbench.errors import HybridbenchError

CLIP = 4800  # 0.2 s: 3 frames at 12.5 Hz (Mimi pads to whole frames)


def _codebooks(model):
    return [m for m in model.modules() if type(m).__name__ == "MimiEuclideanCodebook"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from transformers import MimiConfig, MimiModel

    torch.manual_seed(0)
    ref = MimiModel(MimiConfig()).eval()
    # Mimi's codebooks start at zero (they are filled during training); random entries make the codes informative.
    g = torch.Generator().manual_seed(1)
    for codebook in _codebooks(ref):
        codebook.embed_sum.copy_(torch.randn(codebook.embed_sum.shape, generator=g))
        codebook._embed = None  # drop the cached embed derived from the zeros
    folder = tmp_path_factory.mktemp("mimi")
    ref.save_pretrained(folder)  # config.json + model.safetensors, the layout of hf://kyutai/mimi
    ours = Mimi.load(weights=str(folder))
    wav = speechlike(2, CLIP, 24000)
    return ours, ref, wav, ours.encode(wav), folder


def test_bitrate_and_metadata():
    from transformers import MimiConfig, MimiModel

    info = Mimi.describe()
    assert info.bitrate(8) == 1100.0  # Moshi's 8 codebooks: the published 1.1 kbps
    assert info.bitrate(32) == 4400.0
    config = MimiConfig()
    assert (config.frame_rate, config.num_quantizers, config.codebook_size) == (12.5, 32, 2048)
    assert config.num_semantic_quantizers == 1
    with torch.device("meta"):
        assert sum(p.numel() for p in MimiModel(config).parameters()) == info.parameters
    assert info.causal and not info.needs_ssl_at_inference


@torch.inference_mode()
def test_encode_equals_the_package_for_every_depth(setup):
    ours, ref, wav, codes, _ = setup
    assert codes.shape == (2, 32, 3) and codes.dtype == torch.int64
    assert len(torch.unique(codes[:, 0])) > 1
    assert torch.equal(codes[:, :8], ref.encode(wav, num_quantizers=8).audio_codes)  # the full package path
    latents = ref.encoder(wav).latents
    for k in range(1, 33):  # the package's quantizer at k codebooks, on the same latents
        assert torch.equal(codes[:, :k], ref.quantizer.encode(latents, k).transpose(0, 1)), f"depth {k}"


@torch.inference_mode()
def test_decode_equals_the_package(setup):
    ours, ref, _, codes, _ = setup
    for k in (8, 32):
        assert torch.equal(ours.decode(codes[:, :k]), ref.decode(codes[:, :k]).audio_values), f"depth {k}"


@pytest.mark.slow
@torch.inference_mode()
def test_decode_equals_the_package_for_every_depth(setup):
    ours, ref, _, codes, _ = setup
    for k in range(1, 33):
        assert torch.equal(ours.decode(codes[:, :k]), ref.decode(codes[:, :k]).audio_values), f"depth {k}"


def test_prefix_decoding_and_length(setup):
    ours, _, wav, codes, _ = setup
    check_prefix_decoding(ours, codes, 1)  # the semantic codebook alone
    out = ours.decode(codes[:, :1])
    assert out.shape[-1] == 3 * 1920  # 0.2 s in, 0.24 s out: whole frames
    assert ours.decode(codes[:, :1], length=CLIP).shape == wav.shape


def test_weights_and_wrong_checkpoint(setup, tmp_path):
    from transformers import MimiConfig, MimiModel

    *_, folder = setup
    assert Mimi.weights_status().hint == "hybridbench weights fetch mimi"
    assert Mimi.weights_status(str(folder)).available
    small = MimiModel(MimiConfig(num_quantizers=8, num_hidden_layers=1))
    small.save_pretrained(tmp_path)
    with pytest.raises(HybridbenchError, match="expected"):
        Mimi.load(weights=str(tmp_path))
