"""EnCodec adapter == the encodec package's own bandwidth paths, on a random model saved as EnCodec's .th file."""

from __future__ import annotations

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

pytest.importorskip("encodec")

from hybridbench.codecs.encodec import CHECKPOINT_FILE, Encodec24kHz, build_model  # noqa: E402

CLIP = 4800  # 0.2 s: 15 frames at 75 Hz


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.manual_seed(0)
    ref = build_model()
    # EnCodec initialises its codebooks by k-means during training (zeros until then): give them random entries
    # so that codes carry information and the comparison means something.
    ref.eval()
    with torch.no_grad():
        scale = ref.encoder(speechlike(1, 24000, 24000, seed=9)).std()
    for layer in ref.quantizer.vq.layers:
        layer._codebook.embed.normal_(std=float(scale))
        layer._codebook.inited.fill_(1.0)
    folder = tmp_path_factory.mktemp("encodec")
    torch.save(ref.state_dict(), folder / CHECKPOINT_FILE)  # EnCodec's own checkpoint format: a state dict
    ours = Encodec24kHz.load(weights=str(folder))
    wav = speechlike(2, CLIP, 24000)
    return ours, ref, wav, ours.encode(wav), folder


def test_bitrates_are_the_published_bandwidths():
    info = Encodec24kHz.describe()
    for kbps, depth in Encodec24kHz.published_bandwidths.items():
        assert info.bitrate(depth) == kbps * 1000
    assert info.bitrate(1) == 750.0
    assert info.parameters == sum(p.numel() for p in build_model().parameters())


@torch.inference_mode()
def test_published_bandwidths_equal_the_package(setup):
    ours, ref, wav, codes, _ = setup
    assert codes.shape == (2, 32, 15) and codes.dtype == torch.int64
    assert len(torch.unique(codes[:, 0])) > 1
    for kbps, k in Encodec24kHz.published_bandwidths.items():
        ref.set_target_bandwidth(kbps)
        frames = ref.encode(wav)
        assert torch.equal(codes[:, :k], frames[0][0]), f"{kbps} kbps"
        assert torch.equal(ours.decode(codes[:, :k]), ref.decode(frames)), f"{kbps} kbps"


@torch.inference_mode()
def test_every_depth_encodes_like_the_package_rvq(setup):
    _, ref, wav, codes, _ = setup
    emb = ref.encoder(wav)
    for k in range(1, 33):
        # The package's own RVQ at bandwidth k * 0.75 kbps uses exactly k codebooks.
        expected = ref.quantizer.encode(emb, ref.frame_rate, k * 0.75).transpose(0, 1)
        assert torch.equal(codes[:, :k], expected), f"depth {k}"


@pytest.mark.slow
@torch.inference_mode()
def test_every_depth_decodes_like_the_package_rvq(setup):
    ours, ref, _, codes, _ = setup
    for k in range(1, 33):
        audio = ref.decoder(ref.quantizer.decode(codes[:, :k].transpose(0, 1)))
        assert torch.equal(ours.decode(codes[:, :k]), audio), f"depth {k}"


def test_prefix_decoding_and_length(setup):
    ours, _, wav, codes, _ = setup
    check_prefix_decoding(ours, codes, 8)
    assert ours.decode(codes, length=CLIP).shape == wav.shape
    odd = wav[..., :4000]  # not a multiple of the hop
    assert ours.decode(ours.encode(odd), length=4000).shape == odd.shape


def test_weights_status_and_file_override(setup):
    *_, folder = setup
    assert not Encodec24kHz.weights_status().available
    assert Encodec24kHz.weights_status().hint == "hybridbench weights fetch encodec-24khz"
    assert Encodec24kHz.weights_status(str(folder)).available
    assert Encodec24kHz.weights_status(str(folder / CHECKPOINT_FILE)).available
    assert Encodec24kHz.load(weights=str(folder / CHECKPOINT_FILE)).weights_sha256 is not None
