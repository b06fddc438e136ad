"""Training on the processed distillation target: statistics fitted, recorded, kept on resume; dac -> dac-distill."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from hybridcodec import checkpoint as ckpt
from hybridcodec.errors import HybridcodecError
from hybridcodec.teachers import TeacherSpec
from hybridcodec.train import Trainer

DEPOSITIONED = TeacherSpec(name="whisper-base-encoder", target="depositioned")


def _config(tiny_config, variant: str, **overrides):
    return tiny_config(
        variant=variant, batch_size=2, segment_seconds=0.32, checkpoint_every=2, sample_every=100, **overrides
    )


def test_a_fresh_run_fits_the_target_statistics_records_them_and_keeps_them_on_resume(
    tmp_path: Path, speech_dir: Path, feature_cache: Path, tiny_config, run_options
):
    out = tmp_path / "run"
    options = dataclasses.replace(
        run_options(out, speech_dir, feature_cache, 2, valid=True), teacher=DEPOSITIONED
    )
    trainer = Trainer(config=_config(tiny_config, "hybrid"), options=options)
    target = trainer.model.teacher_target
    assert target is not None and target.position_mean.abs().sum() > 0
    # The crops' targets are standardised: about zero mean and unit variance over the corpus.
    _, feats = trainer.sampler.batch(0)
    assert feats.mean().abs() < 0.5 and 0.3 < feats.std() < 2.0
    trainer.fit()

    meta = ckpt.read_metadata(out)
    teacher = json.loads(meta["teacher"])
    assert teacher["target"] == "depositioned" and teacher["target_stats"] == target.sha256()
    assert json.loads(meta["model_config"])["teacher_target"] == "depositioned"
    model, _ = ckpt.load_model(out)  # the statistics travel inside the checkpoint
    torch.testing.assert_close(model.teacher_target.position_mean, target.position_mean.cpu())
    with open(out / "valid.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["valid/distillation_r2"] not in ("", None) for r in rows)

    resumed = Trainer(config=None, options=dataclasses.replace(options, steps=4, resume=True, teacher=None))
    assert resumed.teacher_spec.target_stats == teacher["target_stats"]
    torch.testing.assert_close(resumed.model.teacher_target.mean, target.mean.cpu())


def test_a_dac_model_warm_starts_into_dac_distill_with_a_fresh_semantic_decoder(
    tmp_path: Path, speech_dir: Path, feature_cache: Path, tiny_config, run_options, speech_batch
):
    source_run = tmp_path / "dac"
    Trainer(
        config=_config(tiny_config, "dac"),
        options=run_options(source_run, speech_dir, feature_cache, 2, teacher=False),
    ).fit()
    source, _ = ckpt.load_model(source_run)
    options = dataclasses.replace(
        run_options(tmp_path / "distill", speech_dir, feature_cache, 4, init_from=source_run / "model.safetensors"),
        teacher=DEPOSITIONED, variant="dac-distill", distillation_form="d-axis",
    )  # fmt: skip
    trainer = Trainer(config=None, options=options)
    assert trainer.config.model.variant == "dac-distill" and trainer.config.loss.distillation_form == "d-axis"
    assert trainer.model.semantic_head is not None and trainer.model.teacher_target is not None
    wav = speech_batch[:2]
    assert torch.equal(trainer.model.encode(wav), source.encode(wav))  # every codec weight carried over
    trainer.fit()
    warm = json.loads(ckpt.read_metadata(tmp_path / "distill")["warm_start"])
    assert warm["changed"] == {"variant": ["dac", "dac-distill"], "distillation_form": ["mse", "d-axis"]}

    hybrid = dataclasses.replace(options, out=tmp_path / "bad", variant="dualcodec")
    with pytest.raises(HybridcodecError, match="can only add distillation to a dac model"):
        Trainer(config=None, options=hybrid)


def test_a_semantic_decoder_that_can_only_fit_a_rank_8_map_is_refused(
    tmp_path: Path, speech_dir: Path, feature_cache: Path, tiny_config, run_options
):
    cfg = _config(tiny_config, "dac-distill")
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, semantic_head_layers=0))
    with pytest.raises(HybridcodecError, match="can fit only a rank-4 map"):
        Trainer(config=cfg, options=run_options(tmp_path / "r", speech_dir, feature_cache, 2))
