"""Warm start (`--init-from`): a new run continues a shipped fp16 model at its step, under its own config."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec.cli import main
from hybridcodec.errors import HybridcodecError
from hybridcodec.train import Trainer


@pytest.fixture(scope="module")
def shipped(trained_run: dict, tmp_path_factory) -> Path:
    """The 30-step tiny run's model, cast to fp16 as `minireplication ship` writes it."""
    model, meta = ckpt.load_model(trained_run["out"])
    path = tmp_path_factory.mktemp("shipped") / "hybrid.safetensors"
    ckpt.save_model(path, model.to(torch.float16), {**meta, "dtype": "float16"})
    return path


def test_warm_start_takes_the_weights_step_and_learning_rate_of_the_file(
    shipped: Path, tmp_path: Path, speech_dir: Path, feature_cache: Path, run_options
):
    out = tmp_path / "warm"
    trainer = Trainer(config=None, options=run_options(out, speech_dir, feature_cache, 34, init_from=shipped))
    assert trainer.start_step == 30
    weights = load_file(shipped)
    for key, value in trainer.model.state_dict().items():
        assert value.dtype == torch.float32 and torch.equal(value, weights[key].float()), key
    schedule = trainer.config.optim.schedule
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(schedule.lr * schedule.gamma**30, rel=1e-12)
    assert not trainer.opt_g.state  # the moments start afresh

    trainer.fit()
    meta = ckpt.read_metadata(out)
    warm = json.loads(meta["warm_start"])
    assert meta["step"] == "34" and warm["step"] == 30 and warm["dtype"] == "float16"
    assert warm["sha256"] == sha256_file(shipped)
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [31, 32, 33, 34]
    # The per-update decay goes on from step 30, as if the run had never stopped: update 31 (index 30) uses
    # lr * gamma^30.
    assert float(rows[0]["lr"]) == pytest.approx(schedule.lr * schedule.gamma**30, rel=1e-5)

    # A resumed warm-started run still says where it came from.
    Trainer(config=None, options=run_options(out, speech_dir, feature_cache, 36, resume=True)).fit()
    assert json.loads(ckpt.read_metadata(out)["warm_start"]) == warm


def test_warm_start_with_resume_or_config_options_is_refused(
    shipped: Path, tmp_path: Path, speech_dir: Path, feature_cache: Path, run_options, capsys
):
    with pytest.raises(HybridcodecError, match="--init-from starts a new run"):
        options = run_options(tmp_path / "x", speech_dir, feature_cache, 34, resume=True, init_from=shipped)
        Trainer(config=None, options=options)
    argv = ["train", "--init-from", str(shipped), "--lr", "1e-2", "--data", str(speech_dir)]
    assert main([*argv, "--steps", "34", "--out", str(tmp_path / "y")]) == 2
    assert "--init-from continues with the checkpoint's own stored config; --lr" in capsys.readouterr().err


def test_warm_start_can_move_to_another_semantic_head_and_encodes_the_same(
    shipped: Path, tmp_path: Path, speech_dir: Path, feature_cache: Path, run_options, speech_batch
):
    import dataclasses

    from hybridcodec.nn.convnext import ConvNeXtStack

    source, _ = ckpt.load_model(shipped)
    assert source.config.semantic_head_layers == 1  # the tiny preset's
    out = tmp_path / "moved"
    options = dataclasses.replace(
        run_options(out, speech_dir, feature_cache, 32, init_from=shipped), semantic_head_layers=3
    )
    trainer = Trainer(config=None, options=options)
    head = trainer.model.semantic_head
    assert isinstance(head, ConvNeXtStack) and len(head.blocks) == 3
    assert trainer.config.model.semantic_head_layers == 3
    weights = load_file(shipped)
    kept = {k: v for k, v in trainer.model.state_dict().items() if not k.startswith("semantic_head.")}
    assert kept and all(torch.equal(v, weights[k].float()) for k, v in kept.items())
    # The semantic head only serves the loss: the codes are those of the source model.
    wav = speech_batch[:2]
    assert torch.equal(trainer.model.encode(wav), source.float().encode(wav))

    trainer.fit()
    meta = ckpt.read_metadata(out)
    # The warm-start record keeps the key shipped checkpoints hold and the leaderboard reads.
    assert json.loads(meta["warm_start"])["changed"] == {"semantic_decoder_layers": [1, 3]}
    assert json.loads(meta["model_config"])["semantic_head_layers"] == 3
    model, _ = ckpt.load_model(out)  # the new checkpoint rebuilds itself
    assert len(model.semantic_head.blocks) == 3


def test_semantic_head_option_is_refused_with_resume(trained_run: dict, capsys):
    argv = ["train", "--resume", "--out", str(trained_run["out"]), "--steps", "31", "--data", "x"]
    for flag in ("--semantic-head-layers", "--semantic-decoder-layers"):  # the older spelling is still read
        assert main([*argv, flag, "2"]) == 2
        assert "a resumed run keeps its own" in capsys.readouterr().err
