"""The model's contract: shapes, frame rates, prefix decoding, stream independence, causality, dropout."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from hybridcodec import checkpoint as ckpt
from hybridcodec.config import VARIANTS, ModelConfig, preset
from hybridcodec.errors import HybridcodecError
from hybridcodec.model import HybridCodec


def tiny(variant: str = "hybrid", **overrides) -> HybridCodec:
    torch.manual_seed(0)
    return HybridCodec(config=preset("tiny", variant=variant, **overrides).model).eval()


def teacher_for(model: HybridCodec, frames: int, batch: int = 2) -> torch.Tensor | None:
    if not model.config.needs_teacher_at_inference:
        return None
    return torch.randn(batch, model.config.teacher_dim, frames)


@pytest.mark.parametrize("name", ["mini", "tiny"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_and_frame_rate(name: str, variant: str):
    cfg = preset(name, variant=variant).model
    model = HybridCodec(config=cfg).eval()
    assert cfg.frame_rate == 25.0 and cfg.sample_rate == 16000
    seconds = 0.48
    wav = torch.randn(2, 1, int(seconds * cfg.sample_rate)) * 0.1
    frames = round(seconds * 25)
    codes = model.encode(wav, teacher=teacher_for(model, frames))
    assert codes.shape == (2, cfg.num_codebooks, frames) and codes.dtype == torch.int64
    for i, size in enumerate(cfg.codebook_sizes):
        assert codes[:, i].min() >= 0 and codes[:, i].max() < size
    assert model.decode(codes).shape == (2, 1, frames * cfg.hop_length)
    out = model.train()(wav, teacher=teacher_for(model, frames))
    assert out.audio.shape == wav.shape
    assert (out.semantic_pred is None) == (variant == "dac")
    if out.semantic_pred is not None:
        assert out.semantic_pred.shape == (2, cfg.teacher_dim, frames)


def test_input_not_a_multiple_of_the_hop_is_padded():
    model = tiny()
    codes = model.encode(torch.randn(1, 1, 640 * 3 + 1) * 0.1)
    assert codes.shape[-1] == 4  # ceil(T / hop)


@pytest.mark.parametrize("variant", VARIANTS)
def test_prefix_decoding_matches_the_quantizers_own_k_codebook_path(variant: str):
    """decode(codes[:, :k]) must equal the decoder on the latent the eval forward builds from k codebooks."""
    model = tiny(variant)
    wav = torch.randn(2, 1, 640 * 8) * 0.1
    teacher = teacher_for(model, 8)
    codes = model.encode(wav, teacher=teacher)
    with torch.no_grad():
        h = model.encoder(wav)
        for k in range(1, model.config.num_codebooks + 1):
            if variant in ("dac", "dac-distill"):
                z = model.vq(h, n_quantizers=k).z
            elif variant == "hybrid":
                s = model.semantic_vq(model.semantic_stream(h)).z
                z = s + model.acoustic_vq(model.acoustic_stream(h - s), n_quantizers=k - 1).z
            else:
                s = model.semantic_decoder(model.semantic_vq(model.semantic_encoder(teacher)).z)
                z = s + model.acoustic_vq(h - s, n_quantizers=k - 1).z
            expected = model.decoder(z)
            got = model.decode(codes[:, :k])
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    # More codebooks, closer latent: the full-depth latent differs from the depth-1 one.
    assert not torch.allclose(model.latent_from_codes(codes[:, :1]), model.latent_from_codes(codes))


def test_semantic_codes_do_not_depend_on_the_acoustic_stream():
    model = tiny()
    wav = torch.randn(2, 1, 640 * 10) * 0.1
    before = model.encode(wav)
    with torch.no_grad():
        for p in list(model.acoustic_stream.parameters()) + list(model.acoustic_vq.parameters()):
            p.add_(torch.randn_like(p))
    after = model.encode(wav)
    assert torch.equal(before[:, 0], after[:, 0])
    assert not torch.equal(before[:, 1:], after[:, 1:])


@pytest.mark.parametrize("variant", ["hybrid", "dac"])
def test_encoder_is_causal(variant: str):
    model = tiny(variant)
    wav = torch.randn(1, 1, 640 * 10) * 0.1
    changed = wav.clone()
    changed[..., 640 * 6 :] = torch.randn(1, 1, 640 * 4)  # change frames 6..9 only
    a, b = model.encode(wav), model.encode(changed)
    assert torch.equal(a[..., :6], b[..., :6])
    assert not torch.equal(a[..., 6:], b[..., 6:])
    # The decoder too: output samples before the change only see codes before it.
    ya, yb = model.decode(a), model.decode(b)
    torch.testing.assert_close(ya[..., : 640 * 6], yb[..., : 640 * 6])


@pytest.mark.parametrize("variant", ["hybrid", "dac"])
def test_quantizer_dropout_changes_depth_in_training_only(variant: str):
    model = tiny(variant, quantizer_dropout=1.0)
    wav = torch.randn(32, 1, 640 * 2) * 0.1
    q = model.config.num_codebooks
    model.train()
    torch.manual_seed(0)
    depths = model(wav).depth
    # hybrid: acoustic depth 0 = the semantic codebook alone (depth 1) is trained too; dac: >= 1 codebook.
    assert depths.min() == 1 and depths.max() <= q
    assert len(set(depths.tolist())) >= 3, depths
    model.eval()
    with torch.no_grad():
        first, second = model(wav), model(wav)
    assert (first.depth == q).all()
    assert torch.equal(first.audio, second.audio)


def test_dualcodec_needs_teacher_features_but_decoding_does_not():
    model = tiny("dualcodec")
    wav = torch.randn(1, 1, 640 * 4) * 0.1
    with pytest.raises(HybridcodecError, match="teacher"):
        model.encode(wav)
    codes = model.encode(wav, teacher=torch.randn(1, model.config.teacher_dim, 4))
    assert model.decode(codes[:, :1]).shape == (1, 1, 640 * 4)


def test_invalid_codes_are_refused():
    model = tiny()
    with pytest.raises(HybridcodecError, match="outside"):
        model.decode(torch.full((1, 2, 3), 10_000))
    with pytest.raises(HybridcodecError, match="1 <= k"):
        model.decode(torch.zeros((1, model.config.num_codebooks + 1, 3), dtype=torch.long))


def test_variant_is_validated():
    with pytest.raises(HybridcodecError, match="variant"):
        dataclasses.replace(preset("tiny").model, variant="encodec")


SHIPPED = Path(__file__).resolve().parents[2] / "minireplication" / "checkpoints" / "mini"


@pytest.mark.parametrize("variant", VARIANTS)
def test_shipped_checkpoints_load_with_their_stored_semantic_head_name(variant: str):
    """Shipped minis store the head's size as `semantic_head_layers` or, written before the rename,
    `semantic_decoder_layers` (absent: no head), and its weights as `semantic_head.*`; all read, strictly."""
    path = SHIPPED / f"{variant}.safetensors"
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    stored = json.loads(ckpt.read_metadata(path)["model_config"])
    model, _ = ckpt.load_model(path)  # every tensor matches the architecture its config rebuilds
    assert model.config.semantic_head_layers == stored.get(
        "semantic_head_layers", stored.get("semantic_decoder_layers", 0)
    )
    assert (model.semantic_head is not None) == (variant != "dac")


def test_a_stored_model_config_of_either_name_gives_the_same_semantic_head():
    cfg = preset("tiny", variant="dac-distill").model
    data = json.loads(cfg.to_json())
    assert "semantic_head_layers" in data
    data["semantic_decoder_layers"] = data.pop("semantic_head_layers")
    assert ModelConfig.from_json(json.dumps(data)) == cfg
