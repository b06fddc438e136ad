"""The hybridbench adapters load what the trainer writes and decode prefixes exactly as the model does."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
import soundfile as sf
import torch

from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridcodec.adapter import ADAPTERS, HybridCodec, HybridCodecDac
from hybridcodec.checkpoint import load_model
from hybridcodec.inference import LoadedModel


def test_entry_point_names_match_class_names():
    eps = {ep.name: ep for ep in entry_points(group="hybridbench.codecs")}
    for cls in ADAPTERS:
        assert cls.name in eps, f"{cls.name} is not registered (pip install --no-deps -e .)"
        assert eps[cls.name].load() is cls


def test_adapter_decodes_every_prefix_like_the_model(trained_run: dict, speech_dir: Path):
    out = trained_run["out"]
    codec = HybridCodec.load(weights=str(out))
    model, _ = load_model(out)
    wav = torch.from_numpy(sf.read(speech_dir / "utt1.wav", dtype="float32")[0][: 16000 + 123])[None, None]
    codes = codec.encode(wav)
    assert codes.shape == (1, 4, 26) and codes.dtype == torch.int64
    assert torch.equal(codes, model.encode(wav))
    for k in range(1, 5):
        got = codec.decode(codes[:, :k], length=wav.shape[-1])
        expected = model.decode(codes[:, :k])[..., : wav.shape[-1]]
        assert got.shape == wav.shape
        assert torch.equal(got, expected), k
    # Later codebooks are ignored at depth k, the k-th is not.
    changed = codes.clone()
    changed[:, 2:] = (changed[:, 2:] + 1) % 32
    assert torch.equal(codec.decode(changed[:, :2]), codec.decode(codes[:, :2]))
    assert not torch.equal(codec.decode(changed[:, :3]), codec.decode(codes[:, :3]))


def test_facts_come_from_the_checkpoint(trained_run: dict):
    out = trained_run["out"]
    info = HybridCodec.describe(str(out))
    assert (info.sample_rate, info.frame_rate, info.codebook_sizes) == (16000, 25.0, (64, 32, 32, 32))
    assert info.extra["variant"] == "hybrid" and info.extra["step"] == "30"
    assert info.bitrate(1) == 25 * 6 and info.bitrate(4) == 25 * (6 + 3 * 5)
    codec = HybridCodec.load(weights=str(out / "model.safetensors"))
    trained = LoadedModel.load(out / "model.safetensors").model  # as trained: the adapter folds weight norm
    every = sum(p.numel() for p in trained.parameters())
    head = sum(p.numel() for p in trained.semantic_head.parameters())  # training only: not counted
    assert info.parameters == codec.info().parameters == every - head and head > 0
    assert HybridCodec.describe().sample_rate == 24000  # without weights: the paper preset


def test_missing_or_wrong_variant_weights(trained_run: dict, tmp_path: Path):
    assert not HybridCodec.weights_status(None).available
    with pytest.raises(WeightsNotFoundError, match="hybridcodec train"):
        HybridCodec.load(weights=str(tmp_path / "nope"))
    with pytest.raises(HybridbenchError, match="--codec hybridcodec"):
        HybridCodecDac.load(weights=str(trained_run["out"]))


def test_dualcodec_variant_runs_its_teacher_at_inference(
    tmp_path: Path,
    speech_dir: Path,
    speech_batch: torch.Tensor,
    feature_cache: Path,
    tiny_config,
    run_options,
):
    from hybridcodec.adapter import HybridCodecDualCodec
    from hybridcodec.train import train

    out = tmp_path / "dualcodec"
    train(
        tiny_config(variant="dualcodec", batch_size=2, segment_seconds=0.24),
        run_options(out, speech_dir, feature_cache, 1),
    )
    codec = HybridCodecDualCodec.load(weights=str(out))
    info = codec.info()
    assert (
        info.needs_ssl_at_inference
        and info.causal is False
        and info.extra["teacher"] == "whisper-base-encoder"
    )
    wav = speech_batch[:1]
    codes = codec.encode(wav)
    # The same codes from the model fed with the teacher's features by hand.
    teacher = codec.codec.teacher
    feats = teacher.features_at(wav[0, 0], sample_rate=16000, frame_rate=25.0, n_frames=25).T[None]
    assert torch.equal(codes, codec.model.encode(wav, teacher=feats))
    for k in (1, 4):  # decoding needs no teacher
        assert torch.equal(codec.decode(codes[:, :k]), codec.model.decode(codes[:, :k]))
