"""Held-out losses of shipped checkpoints, scored again on a run's validation split.

A run logs its held-out losses (valid.csv) at every checkpoint, and `ship` carries that log on to the next
machine. A checkpoint whose log stayed behind (shipped before the log travelled, or trained elsewhere) can still
be placed on the learning curve: this builds the trainer around the shipped model, exactly as a warm start
would, and calls the trainer's own `validate()` on the crops the run validates on. Shipped weights are fp16, so
the rows name the file and its dtype and are kept apart from the training log (`valid-shipped.csv`); the plot
draws them apart too.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec.config import VARIANTS
from hybridcodec.logs import VALID_COLUMNS
from minireplication.errors import ReplicationError
from minireplication.replicate import SHIPPED_VALID_LOG, VALID_LOG, Recipe, shipped_file

COLUMNS = (*VALID_COLUMNS, "weights_sha256", "dtype")


def held_out_losses(
    model_file: Path, *, data: Path, valid: Path, feature_cache: Path | None = None, device: str = "cpu"
) -> dict[str, float]:
    """The trainer's held-out losses (valid/mel, valid/mel_depth1, and for distilling variants
    valid/distillation and valid/distillation_r2) of the model in `model_file`, on `valid`'s fixed crops."""
    from hybridcodec.train import RunOptions, Trainer

    step = int(ckpt.read_metadata(model_file)["step"])
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            out=Path(tmp) / "run", data=(str(data),), steps=step, valid=(str(valid),), init_from=Path(model_file),
            feature_cache=feature_cache, device=device, progress=False,
        )  # fmt: skip
        return Trainer(config=None, options=options).validate()


def read_rows(path: Path) -> dict[int, dict[str, str]]:
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {int(r["step"]): r for r in csv.DictReader(f)}


def write_rows(path: Path, rows: dict[int, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows[s] for s in sorted(rows))


def _run_recipe(run: Path) -> Recipe:
    recipe_file = run / "recipe.json"
    if not recipe_file.is_file():
        raise ReplicationError(f"{run} holds no recipe.json", "pass the run folder that `replicate` wrote")
    return Recipe.load(recipe_file)


def revalidate(
    folders: list[Path],
    run: Path,
    *,
    data: Path,
    valid: Path,
    variants: tuple[str, ...] = VARIANTS,
    feature_cache: Path | None = None,
    device: str = "cpu",
) -> dict[str, list[int]]:
    """Score every variant's shipped model in each of `folders` and record it in RUN/<variant>/valid-shipped.csv
    (a step scored again replaces its row). A step that the training's own held-out log (valid.csv) holds is
    left out: that row is the one trained in fp32. Returns the steps recorded per variant."""
    recipe = _run_recipe(run)
    models = []
    for folder in folders:
        for variant in variants:
            path = shipped_file(folder, variant)
            if not path.is_file():
                raise ReplicationError(f"{folder} holds no {path.name}", "pass folders written by `ship`")
            meta = ckpt.read_metadata(path)
            # A shipped model of another recipe would put another experiment's point on this run's curve.
            if Recipe.from_dict(json.loads(meta.get("recipe") or "{}")) != recipe:
                raise ReplicationError(
                    f"{path} was trained with another recipe than {run}", "revalidate it against its own run"
                )
            models.append((variant, path, meta))
    done: dict[str, list[int]] = {}
    for variant, path, meta in models:
        step = int(meta["step"])
        if step in read_rows(run / variant / VALID_LOG):
            continue
        losses = held_out_losses(path, data=data, valid=valid, feature_cache=feature_cache, device=device)
        log = run / variant / SHIPPED_VALID_LOG
        rows = read_rows(log)
        rows[step] = {
            "step": str(step),
            **{k: f"{v:.6g}" for k, v in losses.items()},
            "weights_sha256": sha256_file(path),
            "dtype": meta.get("dtype", "float32"),
        }
        write_rows(log, rows)
        done.setdefault(variant, []).append(step)
    return done
