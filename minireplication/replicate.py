"""`minireplication replicate`: HybridCodec and the paper's three baselines trained under one budget, in lockstep.

The paper's claim is a comparison under identical conditions, so the four variants (`hybrid`, `dac`,
`dac-distill`, `dualcodec`) get the same preset, corpus, seed, batch, crops in the same order (crops are a
function of seed and step, see data.py), steps and learning-rate schedule. Each variant is an ordinary
`hybridcodec train` run folder under OUT/<variant>. Training goes in rounds: every variant is brought to the same
step (`--round` steps further), and every `--eval-every` steps each is scored on held-out speech for the learning
curves (curves.csv, learning-curves.png). Stopping at any moment loses at most the round in progress; running the
same command again resumes every variant from its last checkpoint, and a larger `--steps` extends the runs.

The recipe (everything but `--steps`) is written to OUT/recipe.json on the first run; a later run with another
recipe is refused, so one folder never mixes two recipes.

The one schedule change allowed later is a final anneal (`--anneal-start S --anneal-steps N`): from step S every
variant's learning rate falls linearly to 0 at step S + N (Schedule). It is asked for once, recorded in
OUT/anneal.json and in every later checkpoint's config, and kept by every later run; it can neither start in the
past, nor change, nor be trained past. Once it has finished, `--rewarm` with a later anneal trains on: the
learning rate goes back up to its schedule at once (a warm restart) and anneals again; anneal.json and the
checkpoints keep the earlier anneal beside the new one.

A run folder lives on one machine. To go on training on another one (a new session, a GPU), `--init-from` a
folder of shipped checkpoints (`minireplication ship` writes them, with their training history) warm-starts every
variant from its shipped model at the shipped step, under the same recipe: the crops and the learning rate go
on where they stopped; the optimizer moments start afresh (see train.py), and each checkpoint records it. A
variant whose shipped semantic head differs from the preset's (training only) gets a fresh one of the
preset's size, recorded as `changed` in the warm start.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec.config import VARIANTS, Schedule, TrainConfig, preset
from minireplication.errors import ReplicationError

# The hybridbench codec that loads each variant's checkpoints.
ADAPTER = {
    "hybrid": "hybridcodec",
    "dac": "hybridcodec-dac",
    "dac-distill": "hybridcodec-dac-distill",
    "dualcodec": "hybridcodec-dualcodec",
}


@dataclass(frozen=True)
class Recipe:
    """What every variant is trained with (identical across variants by construction)."""

    preset: str = "mini"
    teacher: str = "whisper-base-encoder"
    # How the teacher's features become the distillation target, and the loss form (hybridcodec.target,
    # nn/losses.py). Recipes written before these fields trained on the raw target with MSE (LEGACY).
    teacher_target: str = "depositioned"
    distillation_form: str = "mse"
    seed: int = 0
    batch_size: int = 8
    # DAC trains on 0.38 s excerpts; 0.48 s (12 frames) halves the CPU cost of a step against 1 s crops.
    segment_seconds: float = 0.48
    lr: float = 3e-4
    # Steps of reconstruction-only training before the GAN losses switch on. On a 2-core CPU the discriminator
    # doubles the step time, and intelligibility (what the WER claims are about) comes from the mel loss, so
    # the CPU recipe trains without GAN; a GPU run can set 0 (the paper's setting).
    adversarial_start: int = 1_000_000
    round_steps: int = 250
    eval_every: int = 500
    eval_suite: str = "asterisk-en-test"
    eval_items: int = 30
    eval_asr: str = "whisper-base"

    @classmethod
    def load(cls, path: Path) -> Recipe:
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, data: dict) -> Recipe:
        """A stored recipe; fields it predates take the values it was trained with, not today's defaults."""
        return cls(**(LEGACY | data))


# What a recipe stored before a field existed was trained with.
LEGACY = {"teacher_target": "raw", "distillation_form": "mse"}


@dataclass(frozen=True)
class Plan:
    out: Path
    steps: int
    recipe: Recipe
    device: str = "cpu"
    jobs: int = 2  # variants trained at the same time
    threads: int | None = None  # torch threads per training process (default: cores // jobs)
    corpus: Path | None = None  # where the offline corpus is built (default: the cache)
    data: Path | None = None  # a manifest or folder of your own instead of the offline corpus
    valid: Path | None = (
        None  # held-out audio scored at every checkpoint (default: the corpus's validation split)
    )
    feature_cache: Path | None = None  # teacher features (default: the cache)
    variants: tuple[str, ...] = VARIANTS
    init_from: Path | None = None  # shipped <variant>.safetensors to warm-start new variants from
    # (start, steps): the final learning-rate anneal of every variant (Schedule), asked for once; see
    # check_anneal.
    anneal: tuple[int, int] | None = None
    rewarm: bool = (
        False  # with anneal: train on past a finished anneal and anneal again (Schedule.with_anneal)
    )
    earlier_anneals: tuple[tuple[int, int], ...] = ()  # finished before `anneal` (set by check_anneal)


def variant_step(run: Path) -> int:
    latest = ckpt.latest_checkpoint(run) if run.exists() else None
    return int(latest.name.split("_")[1]) if latest is not None else 0


HISTORY = "history"  # beside shipped checkpoints: the learning curves and each variant's logs
METRICS = "{variant}-metrics.csv"
# Each variant's logs that travel with its shipped checkpoint: the name in its run folder -> the name in HISTORY.
# The held-out logs travel too, or a learning curve would lose its held-out points at every change of machine.
VALID_LOG = "valid.csv"  # the trainer's held-out log (hybridcodec.logs)
SHIPPED_VALID_LOG = "valid-shipped.csv"  # minireplication.revalidate's rows, scored from shipped checkpoints
VARIANT_LOGS = {
    "metrics.csv": METRICS,
    VALID_LOG: "{variant}-valid.csv",
    SHIPPED_VALID_LOG: "{variant}-valid-shipped.csv",
}


def shipped_file(folder: Path, variant: str) -> Path:
    return Path(folder) / f"{variant}.safetensors"


def warm_start_step(plan: Plan) -> int:
    """The step the shipped checkpoints in `plan.init_from` reached; refused unless they match the recipe."""
    assert plan.init_from is not None
    steps = {}
    for variant in plan.variants:
        path = shipped_file(plan.init_from, variant)
        if not path.is_file():
            raise ReplicationError(
                f"--init-from {plan.init_from}: no {path.name}", "ship every variant first"
            )
        meta = ckpt.read_metadata(path)
        stored = Recipe.from_dict(json.loads(meta.get("recipe") or "{}"))
        if stored != plan.recipe:
            raise ReplicationError(
                f"{path} was trained with another recipe: {_recipe_diff(stored, plan.recipe)} (stored, given)",
                "pass the stored recipe options, or train from scratch in a new --out",
            )
        steps[variant] = int(meta["step"])
    if len(set(steps.values())) != 1:
        raise ReplicationError(f"--init-from {plan.init_from}: the variants are at different steps {steps}")
    return next(iter(steps.values()))


def copy_rows_upto(source: Path, target: Path, step: int) -> None:
    """Write the rows of a per-step CSV up to `step` to `target` (a log may run past a checkpoint)."""
    if not source.is_file():
        return
    with open(source, newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if int(r["step"]) <= step]
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(rows)


def seed_history(plan: Plan, step: int) -> None:
    """Copy the shipped logs and learning curves (up to `step`) into a run folder that has none."""
    assert plan.init_from is not None
    history = Path(plan.init_from) / HISTORY
    for variant in plan.variants:
        if variant_step(plan.out / variant) > 0:
            continue
        for name, shipped in VARIANT_LOGS.items():
            target = plan.out / variant / name
            if not target.exists():
                copy_rows_upto(history / shipped.format(variant=variant), target, step)
    if not (plan.out / "curves.csv").exists():
        copy_rows_upto(history / "curves.csv", plan.out / "curves.csv", step)


def prepare_teacher_features(plan: Plan, manifest: Path) -> None:
    """Compute the teacher features of every training file once, here, before the parallel training jobs."""
    from hybridcodec.config import preset
    from hybridcodec.data import FeatureStore, list_audio
    from hybridcodec.teachers import TeacherSpec, make_teacher

    if not any(preset(plan.recipe.preset, variant=v).model.uses_teacher for v in plan.variants):
        return
    spec = TeacherSpec(name=plan.recipe.teacher, target=plan.recipe.teacher_target)
    store = FeatureStore.for_model(spec, preset(plan.recipe.preset).model, plan.device, plan.feature_cache)
    store.prepare(list_audio([str(manifest)]), lambda: make_teacher(spec, device=plan.device))


CONFIG_FILE = "train_config.json"  # in a variant's run folder: the config its first `hybridcodec train` reads


def variant_config(r: Recipe, variant: str, anneals: tuple[tuple[int, int], ...] = ()) -> TrainConfig:
    """The training config of `variant` under recipe `r`: the preset with the recipe's settings."""
    cfg = preset(r.preset, variant=variant)
    schedule = dataclasses.replace(cfg.optim.schedule, lr=r.lr, anneals=anneals)
    return dataclasses.replace(
        cfg, seed=r.seed, batch_size=r.batch_size, segment_seconds=r.segment_seconds,
        adversarial_start=r.adversarial_start, checkpoint_every=r.round_steps, sample_every=r.eval_every,
        log_every=10, loss=dataclasses.replace(cfg.loss, distillation_form=r.distillation_form),
        optim=dataclasses.replace(cfg.optim, schedule=schedule),
    )  # fmt: skip


def _train_command(plan: Plan, variant: str, target: int, manifest: Path, threads: int) -> list[str]:
    """The `hybridcodec train` command that brings `variant` to `target`. A new run reads its config from
    OUT/<variant>/train_config.json, written here; a resumed or warm-started one keeps its checkpoint's config,
    and is told only the anneal, the one schedule change allowed later."""
    r, run = plan.recipe, plan.out / variant
    cmd = [sys.executable, "-m", "hybridcodec.cli", "train", "--steps", str(target), "--out", str(run)]
    cmd += ["--data", str(manifest), "--device", plan.device, "--threads", str(threads), "--no-progress"]
    if plan.valid is not None:
        cmd += ["--valid", str(plan.valid)]
    if plan.feature_cache is not None:
        cmd += ["--feature-cache", str(plan.feature_cache)]
    if variant_step(run) == 0 and plan.init_from is None:
        anneals = (*plan.earlier_anneals, plan.anneal) if plan.anneal is not None else ()
        config = run / CONFIG_FILE
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(asdict(variant_config(r, variant, anneals)), indent=2) + "\n")
        return [*cmd, "--config", str(config), "--teacher", r.teacher, "--teacher-target", r.teacher_target]
    if plan.anneal is not None:
        cmd += ["--anneal-start", str(plan.anneal[0]), "--anneal-steps", str(plan.anneal[1])]
        # A variant already on this anneal keeps it; one still on the finished earlier one re-warms to it.
        cmd += ["--rewarm"] if plan.earlier_anneals else []
    if variant_step(run) > 0:
        return [*cmd, "--resume"]
    # The preset's semantic head, so that shipped files from before a change of it move to it (a fresh
    # training-only head; the checkpoints record the change in their warm start).
    layers = preset(r.preset, variant=variant).model.semantic_head_layers
    return [
        *cmd,
        "--init-from",
        str(shipped_file(plan.init_from, variant)),
        "--semantic-head-layers",
        str(layers),
    ]


def _train_round(plan: Plan, target: int, manifest: Path) -> None:
    """Bring every variant to `target` steps, `plan.jobs` at a time, each in its own process."""
    todo = [v for v in plan.variants if variant_step(plan.out / v) < target]
    threads = plan.threads or max(1, (os.cpu_count() or 1) // max(1, plan.jobs))

    def one(variant: str) -> tuple[str, int, str]:
        log = plan.out / variant / "train.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            f.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} -> step {target}\n")
            f.flush()
            done = subprocess.run(
                _train_command(plan, variant, target, manifest, threads), stdout=f, stderr=subprocess.STDOUT
            )
        return variant, done.returncode, str(log)

    with ThreadPoolExecutor(max_workers=max(1, plan.jobs)) as pool:
        results = list(pool.map(one, todo))
    failed = [(v, log) for v, rc, log in results if rc != 0]
    if failed:
        raise ReplicationError(
            "training failed for " + ", ".join(v for v, _ in failed), f"see {failed[0][1]}"
        )


def _recipe_diff(stored: Recipe, given: Recipe) -> dict:
    return {k: (getattr(stored, k), v) for k, v in asdict(given).items() if getattr(stored, k) != v}


def check_recipe(out: Path, recipe: Recipe) -> None:
    """Write the recipe on the first run; refuse a different one later."""
    path = out / "recipe.json"
    if path.is_file():
        stored = Recipe.load(path)
        if stored != recipe:
            raise ReplicationError(
                f"{out} was trained with another recipe: {_recipe_diff(stored, recipe)} (stored, given)",
                "run again with the stored options, or choose a new --out",
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(recipe), indent=2) + "\n")


ANNEAL_FILE = "anneal.json"


def _shipped_anneals(plan: Plan) -> tuple[tuple[int, int], ...]:
    """The anneals the shipped checkpoints of `--init-from` were trained under, if any."""
    if plan.init_from is None:
        return ()
    meta = ckpt.read_metadata(shipped_file(plan.init_from, plan.variants[0]))
    return TrainConfig.from_json(meta["train_config"]).optim.schedule.anneals


def read_anneals(path: Path) -> tuple[tuple[int, int], ...]:
    """The anneals recorded in an OUT/anneal.json: the earlier (re-warmed) ones, then the current one."""
    data = json.loads(path.read_text())
    return (*(tuple(a) for a in data.get("earlier", ())), (data["start"], data["steps"]))


def check_anneal(plan: Plan, step_now: int) -> Plan:
    """`plan` with the run's anneals, checked before any variant trains so that a refusal is one line here
    rather than four failed training commands: asked for once (then recorded in OUT/anneal.json and kept by
    every later run, with or without the options), under the schedule's one rule (Schedule.with_anneal)."""
    path = plan.out / ANNEAL_FILE
    stored = Schedule(anneals=read_anneals(path) if path.is_file() else _shipped_anneals(plan))
    anneals = stored.with_anneal(
        plan.anneal, rewarm=plan.rewarm, step=step_now, target=plan.steps, run=str(plan.out)
    ).anneals
    if not anneals:
        return plan
    (start, steps), earlier = anneals[-1], anneals[:-1]
    path.write_text(
        json.dumps({"start": start, "steps": steps, "earlier": [list(a) for a in earlier]}) + "\n"
    )
    return dataclasses.replace(plan, anneal=(start, steps), earlier_anneals=earlier)


def hours_to_go(elapsed_s: float, steps_done: int, steps_left: int) -> float:
    """Wall time left if the remaining steps go at the pace of those done in this run, evaluations included
    once one has run (before that, the estimate leaves them out)."""
    return elapsed_s / max(steps_done, 1) * steps_left / 3600


def run(plan: Plan, *, evaluate: bool = True) -> None:
    """Train all variants in lockstep to `plan.steps`, evaluating every `eval_every` steps."""
    from minireplication import corpus as corpus_mod
    from minireplication.curves import evaluate_step, missed_evaluations, plot_curves

    r = plan.recipe
    if plan.steps < 1:
        raise ReplicationError("--steps must be at least 1")
    check_recipe(plan.out, r)
    start = warm_start_step(plan) if plan.init_from is not None else 0
    if plan.data is None:
        corpus = corpus_mod.build(plan.corpus)
        (plan.out / "corpus.json").write_text(json.dumps(corpus.summary, indent=2) + "\n")
        data = corpus.manifest
        plan = dataclasses.replace(plan, valid=plan.valid or corpus.valid_manifest)
        what = f"corpus {corpus.summary['files']} files, {corpus.summary['hours']:.2f} h"
    else:
        data, what = Path(plan.data), f"data {plan.data}"
        sha = sha256_file(data) if data.is_file() else None
        summary = {"data": str(data), "manifest_sha256": sha, "files": None, "hours": None}
        (plan.out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    prepare_teacher_features(plan, Path(data))
    if plan.init_from is not None:
        seed_history(plan, start)
    reached = [variant_step(plan.out / v) for v in plan.variants]
    if any(0 < s < start for s in reached):
        raise ReplicationError(
            f"{plan.out} holds runs behind the shipped step {start}: {dict(zip(plan.variants, reached, strict=True))}",
            "resume them without --init-from, or warm-start in a new --out",
        )
    steps_now = [s or start for s in reached]
    plan = check_anneal(plan, max(steps_now))
    if evaluate:
        for missed in missed_evaluations(plan.out, plan.variants, r.eval_every, min(steps_now)):
            print(f"step {missed}: scoring the checkpoints a stopped run left unscored", file=sys.stderr)
            evaluate_step(plan.out, missed, plan.variants, recipe=r, device=plan.device)
            plot_curves(plan.out)
    print(
        f"{what}; variants at steps {dict(zip(plan.variants, steps_now, strict=True))}; target {plan.steps}",
        file=sys.stderr,
    )
    # First catch up any variant left behind by an interrupted round, then go round by round.
    target = max(steps_now)
    targets = [target] if target and min(steps_now) < target else []
    step = target
    while step < plan.steps:
        step = min(plan.steps, (step // r.round_steps + 1) * r.round_steps)
        targets.append(step)
    began, first = time.perf_counter(), min(steps_now)
    for target in targets:
        t0 = time.perf_counter()
        _train_round(plan, target, data)
        print(f"step {target}: all variants trained ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        if evaluate and (target % r.eval_every == 0 or target == plan.steps):
            t0 = time.perf_counter()
            evaluate_step(plan.out, target, plan.variants, recipe=r, device=plan.device)
            plot_curves(plan.out)
            print(f"step {target}: scored ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        if target < plan.steps:
            hours = hours_to_go(time.perf_counter() - began, target - first, plan.steps - target)
            print(
                f"step {target} of {plan.steps}: about {hours:.1f} h to go at this run's pace",
                file=sys.stderr,
            )
