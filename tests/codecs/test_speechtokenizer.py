"""SpeechTokenizer adapter == the package's own n_q paths, on a random model saved as its release folder."""

from __future__ import annotations

import json

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

pytest.importorskip("beartype")
pytest.importorskip("speechtokenizer")

from hybridbench.codecs.speechtokenizer import RELEASE_CONFIG, SUBFOLDER, SpeechTokenizer, build_model  # noqa: E402

CLIP = 3200  # 0.2 s at 16 kHz: 10 frames at 50 Hz


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from speechtokenizer import SpeechTokenizer as Package

    torch.manual_seed(0)
    model = build_model().eval()
    wav = speechlike(2, CLIP, 16000)
    # The RVQ starts with k-means-initialised (all-zero) codebooks. Fill them as k-means would start: with encoder
    # frames of other audio (layer 1) and differences of frames (the residual layers), so codes are informative.
    with torch.no_grad():
        frames = model.encoder(speechlike(4, 16000, 16000, seed=7)).transpose(1, 2).reshape(-1, 1024)
    g = torch.Generator().manual_seed(3)
    for i, layer in enumerate(model.quantizer.vq.layers):
        idx = torch.randint(0, frames.shape[0], (2, 1024), generator=g)
        embed = frames[idx[0]] if i == 0 else 0.5 * (frames[idx[0]] - frames[idx[1]])
        layer._codebook.embed.copy_(embed)
        layer._codebook.inited.fill_(1.0)
    root = tmp_path_factory.mktemp("speechtokenizer")
    folder = root / SUBFOLDER  # the layout of hf://fnlp/SpeechTokenizer
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(RELEASE_CONFIG))
    torch.save(model.state_dict(), folder / "SpeechTokenizer.pt")
    # The package's own loader reads the same files.
    ref = Package.load_from_checkpoint(str(folder / "config.json"), str(folder / "SpeechTokenizer.pt")).eval()
    ours = SpeechTokenizer.load(weights=str(folder))
    return ours, ref, wav, ours.encode(wav), root


def test_bitrate_and_metadata():
    info = SpeechTokenizer.describe()
    assert info.bitrate(1) == 500.0 and info.bitrate(8) == 4000.0
    with torch.device("meta"):
        assert sum(p.numel() for p in build_model().parameters()) == info.parameters
    assert info.causal is False


@torch.inference_mode()
def test_encode_and_decode_equal_the_package_for_every_depth(setup):
    ours, ref, wav, codes, _ = setup
    assert codes.shape == (2, 8, 10) and codes.dtype == torch.int64
    assert len(torch.unique(codes[:, 0])) > 1
    for k in range(1, 9):
        expected = ref.encode(wav, n_q=k)  # [k, B, F]
        assert torch.equal(codes[:, :k], expected.transpose(0, 1)), f"depth {k}"
        assert torch.equal(ours.decode(codes[:, :k]), ref.decode(expected)), f"depth {k}"


def test_prefix_decoding_and_length(setup):
    ours, _, wav, codes, _ = setup
    check_prefix_decoding(ours, codes, 1)
    assert ours.decode(codes[:, :1], length=CLIP).shape == wav.shape


def test_weights_status(setup):
    *_, root = setup
    assert SpeechTokenizer.weights_status().hint == "hybridbench weights fetch speechtokenizer"
    assert SpeechTokenizer.weights_status(str(root)).available  # the hub root
    assert SpeechTokenizer.weights_status(str(root / SUBFOLDER)).available  # or the release folder itself
