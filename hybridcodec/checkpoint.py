"""Checkpoints: the model as safetensors (its config in the metadata) and a separate training state.

A run folder holds `checkpoints/step_XXXXXXX/{model.safetensors, train_state.pt}`, a `latest.json` pointer
written atomically once both files of a step are complete, and `model.safetensors` at the top (a copy of the
latest model, what `hybridbench run --weights` and `hybridcodec encode` take). Every file is written to a
temporary name and renamed, so a crash leaves the previous checkpoint intact. The training state records
the sha256 of its model file, so a mismatched pair is refused rather than resumed. Files are loaded strictly
(every tensor must match the architecture) and without unpickling code (`weights_only=True`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from hybridbench.hashing import sha256_file
from hybridcodec.config import ModelConfig
from hybridcodec.errors import HybridcodecError

if TYPE_CHECKING:  # the model (and dualcodec's layers it reuses) loads only when a checkpoint is loaded
    from hybridcodec.model import HybridCodec

FORMAT = "hybridcodec"
FORMAT_VERSION = "1"
MODEL_FILE = "model.safetensors"
STATE_FILE = "train_state.pt"
LATEST = "latest.json"


def _atomic(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def save_model(path: Path, model: HybridCodec, metadata: dict[str, str]) -> None:
    """Write the model's tensors and {format, version, model_config, **metadata} atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": model.config.to_json(),
        **metadata,
    }
    _atomic(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def warm_start_chain(meta: dict[str, str]) -> list[dict[str, Any]]:
    """The warm starts behind a checkpoint (see train.py), newest first: [] for a run trained in one go."""
    chain, warm = [], json.loads(meta["warm_start"]) if meta.get("warm_start") else None
    while warm is not None:
        chain.append(warm)
        warm = warm.get("previous")
    return chain


def resolve_model_path(path: str | Path) -> Path:
    """A .safetensors file, or a run folder (its `model.safetensors`)."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise HybridcodecError(
            f"no HybridCodec checkpoint at {path}", "pass a model.safetensors or a run folder"
        )
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The safetensors metadata of a HybridCodec checkpoint (cheap: reads only the header)."""
    path = resolve_model_path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise HybridcodecError(
            f"{path} is not a readable safetensors file ({exc})", "the checkpoint is truncated or corrupt"
        ) from exc
    if meta.get("format") != FORMAT:
        raise HybridcodecError(f"{path} is not a HybridCodec checkpoint (no '{FORMAT}' metadata)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise HybridcodecError(
            f"{path} has checkpoint format {meta.get('format_version')}, expected {FORMAT_VERSION}"
        )
    return meta


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[HybridCodec, dict[str, str]]:
    """Rebuild the model from its own config and load every tensor strictly. Returns (model in eval, metadata)."""
    path = resolve_model_path(path)
    meta = read_metadata(path)
    from hybridcodec.model import HybridCodec

    model = HybridCodec(config=ModelConfig.from_json(meta["model_config"]))
    tensors = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                tensors[key] = f.get_tensor(key)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise HybridcodecError(
            f"cannot read tensors from {path} ({exc})", "the checkpoint is truncated or corrupt"
        ) from exc
    result = model.load_state_dict(tensors, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise HybridcodecError(
            f"{path} does not match its own config: missing {result.missing_keys[:3]}, "
            f"unexpected {result.unexpected_keys[:3]}",
            "the file was edited or written by another version",
        )
    return model.to(device).eval(), meta


def save_state(path: Path, state: dict[str, Any]) -> None:
    _atomic(Path(path), lambda tmp: torch.save(state, tmp))


def load_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise HybridcodecError(f"no training state at {path}") from exc
    except Exception as exc:  # torch raises several types for a truncated zip / pickle
        raise HybridcodecError(
            f"cannot read training state {path} ({type(exc).__name__}: {exc})".splitlines()[0],
            "the file is truncated or corrupt; delete this checkpoint folder to resume from an older one",
        ) from exc


def step_folder(run: Path, step: int) -> Path:
    """Where a run keeps step `step`'s model and training state."""
    return Path(run) / "checkpoints" / f"step_{step:07d}"


def write_checkpoint(
    run: Path,
    step: int,
    model: HybridCodec,
    metadata: dict[str, str],
    state: dict[str, Any],
    *,
    keep: int = 3,
) -> Path:
    """Write step `step`'s pair, point `latest.json` at it, refresh the top-level model copy, prune old steps."""
    folder = step_folder(run, step)
    save_model(folder / MODEL_FILE, model, {**metadata, "step": str(step)})
    save_state(folder / STATE_FILE, {**state, "step": step, "model_sha256": sha256_file(folder / MODEL_FILE)})
    pointer = {"step": step, "folder": str(folder.relative_to(run))}
    _atomic(run / LATEST, lambda tmp: tmp.write_text(json.dumps(pointer)))
    _atomic(run / MODEL_FILE, lambda tmp: shutil.copyfile(folder / MODEL_FILE, tmp))
    steps = sorted((run / "checkpoints").glob("step_*"))
    for old in steps[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(run: Path) -> Path | None:
    """The folder `latest.json` points at, or None if the run has no checkpoint yet."""
    pointer = run / LATEST
    if not pointer.is_file():
        return None
    try:
        folder = run / json.loads(pointer.read_text())["folder"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise HybridcodecError(
            f"{pointer} is corrupt", "delete it; checkpoints/ still holds the steps"
        ) from exc
    if not folder.is_dir():
        raise HybridcodecError(f"{pointer} points at missing {folder}")
    return folder


def load_checkpoint(
    folder: Path, *, device: str | torch.device = "cpu"
) -> tuple[HybridCodec, dict[str, str], dict[str, Any]]:
    """(model, metadata, training state) of one step folder, checked to belong together."""
    model_path = folder / MODEL_FILE
    model, meta = load_model(model_path, device=device)
    state = load_state(folder / STATE_FILE)
    if state.get("model_sha256") != sha256_file(model_path):
        raise HybridcodecError(
            f"{folder}: the training state does not belong to this model file (sha256 differs)",
            "the checkpoint was partly overwritten; resume from an older step folder",
        )
    return model, meta, state
