"""`minireplication replicate` and `ship`: lockstep training of several variants, resume, recipe guard, fp16 shipping."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from hybridbench.errors import HybridbenchError
from hybridcodec.config import TrainConfig
from hybridcodec.errors import HybridcodecError
from minireplication import replicate
from minireplication.replicate import Plan, Recipe, variant_step

RECIPE = Recipe(preset="tiny", batch_size=2, round_steps=2, eval_every=1000, segment_seconds=0.48)


@pytest.fixture(scope="module")
def lockstep_run(tmp_path_factory, speech_dir: Path, feature_cache: Path) -> Path:
    out = tmp_path_factory.mktemp("replication")
    plan = Plan(
        out=out, steps=3, recipe=RECIPE, jobs=2, threads=1, data=speech_dir, feature_cache=feature_cache,
        variants=("hybrid", "dac"), valid=speech_dir,
    )  # fmt: skip
    replicate.run(plan, evaluate=False)
    return out


def test_every_variant_reaches_the_same_step_with_the_same_recipe(lockstep_run: Path):
    assert [variant_step(lockstep_run / v) for v in ("hybrid", "dac")] == [3, 3]
    # Rounds of 2 steps: checkpoints at 2 and at the final step 3.
    assert sorted(p.name for p in (lockstep_run / "dac" / "checkpoints").iterdir()) == [
        "step_0000002",
        "step_0000003",
    ]
    configs = [json.loads((lockstep_run / v / "config.json").read_text()) for v in ("hybrid", "dac")]
    for key in ("batch_size", "segment_seconds", "seed", "optim", "adversarial_start"):
        assert configs[0][key] == configs[1][key], key
    assert configs[0]["batch_size"] == 2 and configs[0]["model"]["variant"] == "hybrid"
    assert json.loads((lockstep_run / "recipe.json").read_text())["preset"] == "tiny"


def test_a_larger_step_count_resumes_both_and_a_new_recipe_is_refused(
    lockstep_run: Path, speech_dir: Path, feature_cache: Path, tmp_path: Path
):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(lockstep_run, out)
    plan = Plan(
        out=out, steps=4, recipe=RECIPE, jobs=1, threads=1, data=speech_dir, feature_cache=feature_cache,
        variants=("hybrid", "dac"),
    )  # fmt: skip
    replicate.run(plan, evaluate=False)
    assert [variant_step(out / v) for v in ("hybrid", "dac")] == [4, 4]
    assert "-> step 4" in (out / "dac" / "train.log").read_text()  # the round was logged for each variant
    other = Plan(out=out, steps=5, recipe=Recipe(preset="tiny", lr=1e-2), data=speech_dir, variants=("dac",))
    with pytest.raises(HybridcodecError, match="another recipe"):
        replicate.run(other, evaluate=False)


def test_ship_writes_fp16_checkpoints_that_the_mini_adapters_load(lockstep_run: Path, tmp_path: Path):
    from safetensors import safe_open

    from hybridcodec.checkpoint import load_model, read_metadata
    from minireplication.codecs import DacMini, HybridCodecMini
    from minireplication.ship import ship

    stale = tmp_path / "history" / "hybrid-valid-shipped.csv"  # an earlier ship's, of another run
    stale.parent.mkdir()
    stale.write_text("step,valid/mel\n9,1.0\n")
    written = ship(lockstep_run, tmp_path, variants=("hybrid", "dac"))
    assert [p.name for p in written] == ["hybrid.safetensors", "dac.safetensors"]
    # The logs of this run travel, up to the shipped step; a log this run does not have is not left behind.
    assert (tmp_path / "history" / "hybrid-valid.csv").read_text() == (
        lockstep_run / "hybrid" / "valid.csv"
    ).read_text()
    assert not stale.exists()
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2 and sums[0].endswith("  hybrid.safetensors")
    with safe_open(str(written[0]), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}  # noqa: SIM118
    meta = read_metadata(written[0])
    assert (
        meta["step"] == "3" and meta["dtype"] == "float16" and json.loads(meta["recipe"])["preset"] == "tiny"
    )
    assert meta["device"].startswith("cpu") and "corpus_manifest_sha256" in meta

    # The adapter decodes what the fp32 training checkpoint decodes, up to fp16 rounding of the weights.
    codec = HybridCodecMini.load(weights=str(written[0]))
    ref, _ = load_model(lockstep_run / "hybrid" / "checkpoints" / "step_0000003" / "model.safetensors")
    wav = torch.randn(1, 1, 16000) * 0.1
    codes = codec.encode(wav)
    assert codes.shape == (1, ref.config.num_codebooks, 25)
    out, expected = codec.decode(codes[:, :2], length=16000), ref.decode(codes[:, :2])[..., :16000]
    assert torch.allclose(out, expected, atol=2e-2), (out - expected).abs().max()
    with pytest.raises(HybridbenchError, match="not 'hybrid'"):  # the adapter speaks the harness's errors
        HybridCodecMini.load(weights=str(written[1]))
    assert DacMini.load(weights=str(written[1])).model.config.variant == "dac"


def test_ship_refuses_a_step_not_every_variant_reached(lockstep_run: Path, tmp_path: Path):
    from minireplication.ship import ship

    with pytest.raises(HybridcodecError, match="no step-9 checkpoint"):
        ship(lockstep_run, tmp_path, step=9, variants=("hybrid", "dac"))


def test_init_from_shipped_checkpoints_continues_every_variant_and_its_history(
    lockstep_run: Path, speech_dir: Path, feature_cache: Path, tmp_path: Path
):
    from hybridcodec import checkpoint as ckpt
    from minireplication.ship import ship

    shipped = tmp_path / "shipped"
    ship(lockstep_run, shipped, variants=("hybrid", "dac"))
    assert (shipped / "history" / "dac-metrics.csv").is_file()
    out = tmp_path / "elsewhere"
    plan = Plan(
        out=out, steps=5, recipe=RECIPE, jobs=2, threads=1, data=speech_dir, feature_cache=feature_cache,
        variants=("hybrid", "dac"), init_from=shipped,
    )  # fmt: skip
    replicate.run(plan, evaluate=False)
    assert [variant_step(out / v) for v in ("hybrid", "dac")] == [5, 5]
    # Round targets go on from the shipped step 3: 4 (the next multiple of 2), then 5.
    assert sorted(p.name for p in (out / "dac" / "checkpoints").iterdir()) == ["step_0000004", "step_0000005"]
    assert json.loads(ckpt.read_metadata(out / "hybrid")["warm_start"])["step"] == 3
    log = (out / "dac" / "metrics.csv").read_text().splitlines()
    # The shipped log (rows at the end of each earlier round: 2, 3), then the new rounds' rows.
    assert [int(line.split(",")[0]) for line in log[1:]] == [2, 3, 4, 5]
    # The held-out log travels too: the shipped rows, then the new checkpoints' (the plan here has no --valid,
    # so only the shipped ones).
    assert (shipped / "history" / "hybrid-valid.csv").is_file()
    held_out = (out / "hybrid" / "valid.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in held_out[1:]] == [2, 3]

    other = Plan(out=tmp_path / "other", steps=5, recipe=Recipe(preset="tiny", lr=1e-2), data=speech_dir,
                 variants=("dac",), init_from=shipped)  # fmt: skip
    with pytest.raises(HybridcodecError, match="another recipe"):
        replicate.run(other, evaluate=False)


def test_an_anneal_is_asked_for_once_then_kept_and_passed_to_every_variant(tmp_path: Path):
    def plan(steps: int, anneal=None) -> Plan:
        return Plan(out=tmp_path, steps=steps, recipe=RECIPE, data=tmp_path, anneal=anneal)

    assert replicate.check_anneal(plan(10), step_now=8).anneal is None  # none asked for: none
    with pytest.raises(HybridcodecError, match=r"at or after the current step \(8\)"):
        replicate.check_anneal(plan(10, anneal=(4, 6)), step_now=8)
    with pytest.raises(HybridcodecError, match="reaches 0"):
        replicate.check_anneal(plan(20, anneal=(8, 6)), step_now=8)
    assert not (tmp_path / replicate.ANNEAL_FILE).exists()  # a refused anneal is not recorded
    assert replicate.check_anneal(plan(12, anneal=(8, 6)), step_now=8).anneal == (8, 6)
    # Later runs keep it without the options (the start may now lie in the past) and cannot change it.
    kept = replicate.check_anneal(plan(14), step_now=12)
    assert kept.anneal == (8, 6)
    with pytest.raises(HybridcodecError, match="already anneals from step 8 over 6"):
        replicate.check_anneal(plan(14, anneal=(12, 2)), step_now=12)
    assert variant_config_of(kept).optim.schedule.anneals == ((8, 6),)
    # Once it has finished (step 14), a re-warm trains on to a later anneal; both stay on record.
    rewarmed = replicate.check_anneal(dataclasses.replace(plan(20, anneal=(16, 4)), rewarm=True), step_now=14)
    assert (rewarmed.earlier_anneals, rewarmed.anneal) == (((8, 6),), (16, 4))
    assert replicate.read_anneals(tmp_path / replicate.ANNEAL_FILE) == ((8, 6), (16, 4))
    again = replicate.check_anneal(plan(20), step_now=17)  # a later run, without the options
    assert (again.earlier_anneals, again.anneal) == (((8, 6),), (16, 4))
    assert variant_config_of(again).optim.schedule.anneals == ((8, 6), (16, 4))


def variant_config_of(plan: Plan) -> TrainConfig:
    """The config a new `dac` run of `plan` is given: the file its train command names."""
    cmd = replicate._train_command(plan, "dac", 14, plan.out / "manifest.txt", threads=1)
    path = Path(cmd[cmd.index("--config") + 1])
    assert path == plan.out / "dac" / replicate.CONFIG_FILE and "--anneal-start" not in cmd
    config = TrainConfig.from_json(path.read_text())
    assert config == replicate.variant_config(plan.recipe, "dac", config.optim.schedule.anneals)
    assert (config.batch_size, config.optim.schedule.lr, config.checkpoint_every) == (2, RECIPE.lr, 2)
    return config


def test_the_time_to_go_follows_the_pace_of_this_run():
    # 500 steps (training and their evaluation) took 30 min: 13,500 more take 13.5 h.
    assert replicate.hours_to_go(1800.0, 500, 13_500) == pytest.approx(13.5)
    assert replicate.hours_to_go(0.0, 0, 100) == 0.0  # nothing done yet: no pace to project


def test_revalidate_reproduces_the_logged_held_out_losses_and_records_shipped_rows_apart(
    lockstep_run: Path, speech_dir: Path, feature_cache: Path, tmp_path: Path
):
    import csv

    from hybridcodec import checkpoint as ckpt
    from minireplication.replicate import SHIPPED_VALID_LOG
    from minireplication.revalidate import held_out_losses, revalidate
    from minireplication.ship import ship

    with open(lockstep_run / "hybrid" / "valid.csv", newline="") as f:
        logged = {int(r["step"]): r for r in csv.DictReader(f)}
    assert sorted(logged) == [2, 3]
    # The training checkpoint, scored again: the trainer's own validation, so the logged row to its 6 digits.
    fp32 = ckpt.step_folder(lockstep_run / "hybrid", 3) / ckpt.MODEL_FILE
    again = held_out_losses(fp32, data=speech_dir, valid=speech_dir, feature_cache=feature_cache)
    assert set(again) == {"valid/mel", "valid/mel_depth1", "valid/distillation", "valid/distillation_r2"}
    for key, value in again.items():
        assert value == pytest.approx(float(logged[3][key]), rel=1e-5, abs=1e-6), key

    shipped = tmp_path / "shipped"
    ship(lockstep_run, shipped, variants=("hybrid", "dac"))
    run = tmp_path / "run"  # a run folder of the same recipe, whose curves get the shipped points
    run.mkdir()
    (run / "recipe.json").write_text((lockstep_run / "recipe.json").read_text())
    for _ in range(2):  # scoring a step again replaces its row
        done = revalidate([shipped], run, data=speech_dir, valid=speech_dir, variants=("hybrid", "dac"),
                          feature_cache=feature_cache)  # fmt: skip
    assert done == {"hybrid": [3], "dac": [3]}
    with open(run / "hybrid" / SHIPPED_VALID_LOG, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["step"] == "3" and rows[0]["dtype"] == "float16"
    assert rows[0]["weights_sha256"] == (shipped / "SHA256SUMS").read_text().split()[0]
    # fp16 weights move the losses a little, not more.
    assert float(rows[0]["valid/mel"]) == pytest.approx(float(logged[3]["valid/mel"]), rel=1e-2)

    # A step the training's own held-out log holds keeps that row alone.
    (run / "dac" / "valid.csv").write_text((lockstep_run / "dac" / "valid.csv").read_text())
    assert revalidate([shipped], run, data=speech_dir, valid=speech_dir, variants=("hybrid", "dac"),
                      feature_cache=feature_cache) == {"hybrid": [3]}  # fmt: skip

    other = tmp_path / "other"
    other.mkdir()
    (other / "recipe.json").write_text(
        json.dumps({**json.loads((run / "recipe.json").read_text()), "lr": 1.0})
    )
    with pytest.raises(HybridcodecError, match="another recipe"):
        revalidate([shipped], other, data=speech_dir, valid=speech_dir, variants=("dac",))
