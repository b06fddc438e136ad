"""The learning-rate schedule: one value in the config, one function of the step, one rule for its anneals."""

from __future__ import annotations

import json

import pytest

from hybridcodec.config import OptimConfig, Schedule, TrainConfig, from_dict
from hybridcodec.errors import HybridcodecError

# Warm-up over 10 updates, decay 0.99 per update, an anneal over 40-60, a re-warm, a last anneal over 80-90.
REWARMED = Schedule(lr=1e-3, warmup=10, gamma=0.99, anneals=((40, 20), (80, 10)))


@pytest.mark.parametrize(
    ("update", "lr"),
    [
        (0, 1e-3 * 1 / 10),  # the warm-up's first update already moves
        (4, 1e-3 * 0.99**4 * 5 / 10),
        (9, 1e-3 * 0.99**9),  # the warm-up's last update reaches the decay curve
        (10, 1e-3 * 0.99**10),
        (39, 1e-3 * 0.99**39),  # untouched before the first anneal
        (40, 1e-3 * 0.99**40),
        (50, 1e-3 * 0.99**50 * 0.5),  # halfway down the first anneal
        (59, 1e-3 * 0.99**59 / 20),
        (60, 1e-3 * 0.99**60),  # re-warmed at its end: straight back to the decay curve
        (79, 1e-3 * 0.99**79),
        (85, 1e-3 * 0.99**85 * 0.5),  # halfway down the last anneal
        (90, 0.0),  # the last anneal has reached 0, and stays there
        (500, 0.0),
    ],
)
def test_learning_rate_at_chosen_steps_of_a_warmed_up_rewarmed_schedule(update: int, lr: float):
    assert REWARMED.lr_at(update) == pytest.approx(lr, rel=1e-12, abs=0.0)


def test_without_warmup_or_anneals_it_is_dacs_exponential_decay():
    plain = Schedule(lr=1e-3, gamma=0.99)
    assert plain.lr_at(0) == 1e-3 and plain.anneal is None
    assert plain.lr_at(50) == pytest.approx(1e-3 * 0.99**50, rel=1e-12)


def test_the_schedule_is_one_value_in_the_config_and_survives_json():
    config = TrainConfig(optim=OptimConfig(schedule=REWARMED))
    stored = json.loads(config.to_json())
    assert stored["optim"]["schedule"] == {
        "lr": 1e-3, "warmup": 10, "gamma": 0.99, "anneals": [[40, 20], [80, 10]],
    }  # fmt: skip
    assert (
        TrainConfig.from_json(config.to_json()) == config
    )  # JSON lists read back as the same hashable value


def test_an_old_style_stored_config_gives_the_same_schedule():
    """Checkpoints written before the schedule was one value hold lr, lr_gamma and the anneals as fields."""
    old = {
        "anneal_start": 80, "anneal_steps": 10, "earlier_anneals": [[40, 20]], "betas": [0.8, 0.99],
        "grad_clip_discriminator": 10.0, "grad_clip_generator": 1000.0, "lr": 1e-3, "lr_gamma": 0.99,
        "weight_decay": 0.0,
    }  # fmt: skip
    optim = from_dict(OptimConfig, old)
    assert optim.schedule == Schedule(lr=1e-3, gamma=0.99, anneals=((40, 20), (80, 10)))
    assert (optim.betas, optim.grad_clip_generator) == ((0.8, 0.99), 1000.0)
    # Without an anneal (anneal_start null), and with fields that predate the anneals altogether.
    assert from_dict(OptimConfig, {"lr": 3e-4, "anneal_start": None, "anneal_steps": 0}).schedule == Schedule(
        lr=3e-4
    )
    assert from_dict(OptimConfig, {"lr": 3e-4, "lr_gamma": 0.999996}).schedule == Schedule(lr=3e-4)
    with pytest.raises(HybridcodecError, match="unknown OptimConfig fields"):
        from_dict(OptimConfig, {"schedule": {"lr": 1e-3}, "lr": 1e-3})  # one or the other


def test_anneal_rule_moves_an_anneal_not_begun_and_rewarms_only_a_finished_one():
    one, two = Schedule(anneals=((40, 20),)), Schedule(anneals=((40, 20), (70, 10)))
    # Not begun yet (the run is at its start step or before): moved, nothing trained under it.
    assert one.with_anneal((50, 20), step=40, target=60).anneals == ((50, 20),)
    with pytest.raises(HybridcodecError, match="already anneals from step 40 over 20"):
        one.with_anneal((50, 20), step=41, target=60)  # begun: kept
    with pytest.raises(HybridcodecError, match=r"still annealing \(its learning rate reaches 0 at step 60\)"):
        one.with_anneal((70, 10), rewarm=True, step=55, target=80)
    with pytest.raises(HybridcodecError, match="add --rewarm"):
        one.with_anneal((70, 10), step=60, target=80)  # finished: the hint names the way on
    with pytest.raises(HybridcodecError, match="needs the next anneal"):
        one.with_anneal(None, rewarm=True, step=60, target=80)
    assert one.with_anneal((70, 10), rewarm=True, step=60, target=80) == two
    # Asked again once recorded (the same command run again): kept as it is, with or without --rewarm.
    assert two.with_anneal((70, 10), rewarm=True, step=75, target=80) == two
    with pytest.raises(HybridcodecError, match="goes past step 80"):
        two.with_anneal(None, step=75, target=81)
    with pytest.raises(HybridcodecError, match=r"at or after the current step \(30\)"):
        Schedule().with_anneal((10, 4), step=30, target=34)
    # Only the anneals change: the rest of the schedule is kept.
    assert REWARMED.with_anneal(None, step=85, target=90) == REWARMED
