"""DualCodec adapter == dualcodec.Inference, on random-weight models saved in the package's own formats.

The checkpoint folder is laid out as DualCodec's README downloads it (`dualcodec_*.safetensors`,
`w2vbert2_mean_var_stats_emilia.pt`) plus a `w2v-bert-2.0/` sub-folder saved by transformers, holding a tiny random
Wav2Vec2BertModel (17 layers so that hidden_states[17] exists; width 1024 because DualCodec's semantic input
projection expects it). Our adapter loads that folder through its real loading path (`load(weights=DIR)`);
`dualcodec.Inference` loads the same files through `dualcodec.get_model` and its own w2v-BERT builder.
"""

from __future__ import annotations

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

pytest.importorskip("dualcodec")

from hybridbench.codecs.batching import decode_items, encode_items  # noqa: E402
from hybridbench.codecs.dualcodec import (  # noqa: E402
    STATS_FILE,
    W2V_BERT_PARAMETERS,
    W2V_SUBFOLDER,
    DualCodec12Hz,
    DualCodec25Hz,
    build_model,
)
from hybridbench.errors import HybridbenchError, WeightsNotFoundError  # noqa: E402

# 0.1 s at 24 kHz: 4 w2v-BERT frames (50 Hz) -> 2 codec frames at 25 Hz, 1 at 12.5 Hz. DualCodec runs w2v-BERT
# and its encoder under fp16 autocast even on the CPU (as dualcodec.Inference does), which is ~8x slower than
# fp32 there, so the clips are short and the number of encode calls is kept small.
CLIP = 2400


@pytest.fixture(scope="module")
def w2v_dir(tmp_path_factory):
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    folder = tmp_path_factory.mktemp("w2v")
    torch.manual_seed(0)
    config = Wav2Vec2BertConfig(
        hidden_size=1024,
        num_hidden_layers=17,
        num_attention_heads=4,
        intermediate_size=32,
        conv_depthwise_kernel_size=3,
    )
    Wav2Vec2BertModel(config).save_pretrained(folder)
    SeamlessM4TFeatureExtractor().save_pretrained(folder)
    return folder


# The 12.5 Hz model differs from the 25 Hz one only in its YAML config and class constants (checked by the fast
# tests above); its full equivalence run is marked slow to keep the default suite short on 2 CPU cores.
@pytest.fixture(
    scope="module",
    params=[DualCodec25Hz, pytest.param(DualCodec12Hz, marks=pytest.mark.slow)],
    ids=["25hz", "12hz"],
)
def pair(request, w2v_dir, tmp_path_factory):
    """(our adapter, dualcodec.Inference) on the same random checkpoint folder."""
    import shutil

    import dualcodec
    import safetensors.torch

    cls = request.param
    folder = tmp_path_factory.mktemp(cls.name)
    torch.manual_seed(1)
    safetensors.torch.save_model(build_model(cls.config_name), str(folder / cls.checkpoint_file))
    g = torch.Generator().manual_seed(2)
    torch.save(
        {"mean": 0.1 * torch.randn(1024, generator=g), "var": 0.5 + torch.rand(1024, generator=g)},
        folder / STATS_FILE,
    )
    shutil.copytree(w2v_dir, folder / W2V_SUBFOLDER)

    ours = cls.load(weights=str(folder))
    ref = dualcodec.Inference(
        dualcodec_model=dualcodec.get_model(cls.model_id, str(folder)),
        dualcodec_path=str(folder),
        w2v_path=str(folder / W2V_SUBFOLDER),
        device="cpu",
    )
    wav = speechlike(2, CLIP, 24000)
    features = ours.semantic_features(wav)  # the separately timed SSL part of encode()
    codes = ours.encode_from_features(wav, features)
    yield cls, ours, ref, wav, codes, folder, features


def test_bitrates_match_published_figures():
    # 25 Hz: 25 * (log2 16384 + 11 * log2 1024) = 25 * 124 = 3100 b/s, DualCodec's "3.1 kbps" at 12 codebooks.
    assert DualCodec25Hz.describe().bitrate(12) == 3100.0
    assert DualCodec25Hz.describe().bitrate(1) == 350.0
    # 12.5 Hz: 12.5 * (14 + 7 * 12) = 1225 b/s, published as "about 1.2 kbps" at 8 codebooks.
    assert DualCodec12Hz.describe().bitrate(8) == 1225.0
    assert DualCodec12Hz.describe().bitrate(1) == 175.0


def test_metadata_parameter_counts_match_the_package():
    from transformers import Wav2Vec2BertConfig, Wav2Vec2BertModel

    with torch.device("meta"):
        assert (
            sum(p.numel() for p in Wav2Vec2BertModel(Wav2Vec2BertConfig()).parameters())
            == W2V_BERT_PARAMETERS
        )
        for cls in (DualCodec12Hz, DualCodec25Hz):
            count = sum(p.numel() for p in build_model(cls.config_name).parameters())
            assert count == cls.codec_parameters
            info = cls.describe()
            assert info.parameters == count + W2V_BERT_PARAMETERS
            assert info.needs_ssl_at_inference and info.causal is False and info.sample_rate == 24000


def test_codes_shape_and_semantic_row(pair):
    cls, ours, _, wav, codes, _, features = pair
    frames = 4 // ours.model.semantic_downsample_factor  # 4 w2v-BERT frames for 0.1 s, average-pooled
    assert features.shape == (2, 1024, frames)
    assert codes.dtype == torch.int64 and codes.shape == (2, cls.describe().num_codebooks, frames)
    for q, size in enumerate(cls.codebook_sizes):
        assert int(codes[:, q].min()) >= 0 and int(codes[:, q].max()) < size
    # The random model is not degenerate, so the comparisons with dualcodec.Inference mean something.
    assert len(torch.unique(codes[:, :2])) > 2


def test_encode_equals_inference(pair):
    cls, _, ref, wav, codes, _, _ = pair
    # Our encode runs once at full depth and depth k is its prefix; Inference re-encodes with n_quantizers=k.
    semantic, acoustic = ref.encode(wav, n_quantizers=len(cls.codebook_sizes))
    assert torch.equal(codes, torch.cat([semantic, acoustic], dim=1).to(torch.int64))


@pytest.mark.slow
def test_encode_equals_inference_for_every_depth(pair):
    cls, _, ref, wav, codes, _, _ = pair
    for k in range(1, len(cls.codebook_sizes)):
        semantic, acoustic = ref.encode(wav, n_quantizers=k)
        expected = semantic if acoustic is None else torch.cat([semantic, acoustic], dim=1)
        assert torch.equal(codes[:, :k], expected.to(torch.int64)), f"depth {k}"


def _check_decode(ours, ref, codes, depths):
    for k in depths:
        expected = ref.decode(codes[:, :1], codes[:, 1:k] if k > 1 else None)
        assert torch.equal(ours.decode(codes[:, :k]), expected), f"depth {k}"


def test_decode_equals_inference(pair):
    cls, ours, ref, _, codes, _, _ = pair
    _check_decode(ours, ref, codes, (1, len(cls.codebook_sizes)))  # semantic only (no acoustic codes), all


@pytest.mark.slow
def test_decode_equals_inference_for_every_depth(pair):
    cls, ours, ref, _, codes, _, _ = pair
    _check_decode(ours, ref, codes, range(2, len(cls.codebook_sizes)))


def test_decode_reads_exactly_the_first_k_codebooks_and_matches_length(pair):
    cls, ours, _, wav, codes, _, _ = pair
    check_prefix_decoding(ours, codes, 2)
    fitted = ours.decode(codes[:, :1], length=CLIP)
    assert fitted.shape == wav.shape
    # DualCodec's output is 4 samples short of frames * hop; decode(length=T) pads the rest with zeros.
    short = codes.shape[-1] * round(24000 / cls.frame_rate) - 4
    assert torch.all(fitted[..., short:] == 0) and torch.any(fitted[..., short - 4 : short] != 0)


def test_variable_length_items_equal_their_batched_codes(pair):
    # Items of different lengths go through `batching.encode_items`, one equal-length group at a time (the
    # grouping itself is tested in test_batching.py). Here: DualCodec's batch of two (the fixture) equals each
    # item encoded alone, bit for bit, and a shorter item in the same call gets its own, shorter codes.
    _, ours, _, wav, codes, _, _ = pair
    items = [wav[0], wav[1, :, :2300]]  # 2300 samples still hold 4 w2v-BERT frames (one 12.5 Hz frame)
    alone = encode_items(ours, items)
    assert torch.equal(alone[0], codes[0])
    assert alone[1].shape[0] == codes.shape[1] and 1 <= alone[1].shape[-1] <= codes.shape[-1]
    wavs = decode_items(ours, [c[:2] for c in alone], [x.shape[-1] for x in items])
    assert [w.shape for w in wavs] == [x.shape for x in items]
    # Decoded audio of a batch of two equals one-by-one up to float summation order in batched convolutions.
    batched = ours.decode(codes[:, :2], length=CLIP)
    torch.testing.assert_close(wavs[0], batched[0], rtol=0, atol=1e-6)


def test_too_short_input_is_a_clear_error(pair):
    cls, ours, _, wav, _, _, _ = pair
    with pytest.raises(HybridbenchError, match="too short"):
        ours.encode(wav[:1, :, :1000])


def test_weights_status_and_missing_weights_error(pair):
    cls, _, _, _, _, folder, _ = pair
    status = cls.weights_status()
    assert not status.available and status.hint == f"hybridbench weights fetch {cls.name}"
    assert cls.weights_status(str(folder)).available
    with pytest.raises(WeightsNotFoundError, match=cls.name):
        cls.load()
