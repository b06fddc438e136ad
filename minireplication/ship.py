"""Ship the four trained mini variants inside the package, as small fp16 safetensors.

`minireplication ship --from runs/mini-replication` takes every variant's checkpoint at the latest step that all
four have reached (so the shipped models are trained equally), casts the tensors to fp16, and writes
minireplication/checkpoints/mini/<variant>.safetensors with everything a reviewer needs inside the metadata: the
model and training configs, the replication recipe, the corpus summary and manifest sha256, the step and the
device that trained it. SHA256SUMS lists the files. history/ keeps the learning curves and each variant's
training and held-out logs up to that step, so `minireplication replicate --init-from` on another machine
continues them. hybridbench registers them as `hybridcodec-mini`, `dac-mini`, `dac-distill-mini` and `dualcodec-mini`;
loading casts back to fp32.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec.config import VARIANTS
from minireplication.errors import ReplicationError
from minireplication.replicate import HISTORY, VARIANT_LOGS, copy_rows_upto, variant_step

PACKAGED = Path(__file__).parent / "checkpoints" / "mini"


def packaged_path(variant: str) -> Path:
    return PACKAGED / f"{variant}.safetensors"


def ship(
    run: Path, dest: Path = PACKAGED, *, step: int | None = None, variants: tuple[str, ...] = VARIANTS
) -> list[Path]:
    """Write the fp16 checkpoints of the variants at `step` (default: the latest step all of them reached)."""
    run = Path(run)
    steps = {v: variant_step(run / v) for v in variants}
    common = min(steps.values())
    step = common if step is None else step
    if step < 1 or step > common:
        raise ReplicationError(
            f"no step-{step} checkpoint for every variant in {run} (steps reached: {steps})",
            "train further with `minireplication replicate`, or pass an earlier --step",
        )
    corpus = (run / "corpus.json").read_text()
    extra = {
        "recipe": (run / "recipe.json").read_text(),
        "corpus": corpus,
        # None when trained on a folder, not a manifest: `data_sha256` (file list) identifies the data then.
        "corpus_manifest_sha256": str(json.loads(corpus)["manifest_sha256"]),
        "dtype": "float16",
        "shipped_by": "minireplication ship",
    }
    Path(dest).mkdir(parents=True, exist_ok=True)
    written = []
    for variant in variants:
        folder = ckpt.step_folder(run / variant, step)
        if not (folder / ckpt.MODEL_FILE).is_file():
            raise ReplicationError(
                f"{folder} has no model (pruned?)", "pass a --step that every variant kept"
            )
        model, meta = ckpt.load_model(folder / ckpt.MODEL_FILE)
        target = Path(dest) / f"{variant}.safetensors"
        ckpt.save_model(target, model.to(torch.float16), {**meta, **extra})
        written.append(target)
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in written)
    (Path(dest) / "SHA256SUMS").write_text(sums)
    history = Path(dest) / HISTORY
    copy_rows_upto(run / "curves.csv", history / "curves.csv", step)
    for variant in variants:
        for name, shipped in VARIANT_LOGS.items():
            source, target = run / variant / name, history / shipped.format(variant=variant)
            if source.is_file():
                copy_rows_upto(source, target, step)
            else:  # an earlier ship's log of a run that has none would be read as this run's
                target.unlink(missing_ok=True)
    return written
