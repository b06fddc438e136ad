"""Learning curves of a `minireplication replicate` folder: WER at depth 1 and at full depth against training step.

At an evaluation step every variant's checkpoint of that step is run through the hybridbench runner (the same
path as any benchmark: the variant's adapter, the suite's items, a real Whisper, corpus WER with a bootstrap
interval) on the first `eval_items` items of `eval_suite`. Each step's run folder is kept under
OUT/curves/step_XXXXXXX/ (results.sqlite: rerunning reuses every stored row), and its WERs are appended to
OUT/curves.csv, from which `plot_curves` draws OUT/learning-curves.png.
"""

from __future__ import annotations

import csv
from pathlib import Path

from minireplication.replicate import ADAPTER, SHIPPED_VALID_LOG, VALID_LOG, Recipe

CURVES_CSV = "curves.csv"
CURVES_PNG = "learning-curves.png"
FLOOR = "identity"
# The bar for the HybridCodec mini: full-depth WER under 15 % on the held-out Asterisk prompts.
TARGET_FULL_WER = 0.15
# WER panels stop here: above it Whisper transcribes noise (insertions, hallucinations), and an axis tall enough
# for an early 300 % spike flattens the range where the variants are told apart.
WER_AXIS_CAP = 150.0
COLUMNS = ("step", "variant", "depth", "wer", "wer_low", "wer_high", "items", "failed", "suite", "asr")


def read_curves(out: Path) -> list[dict[str, str]]:
    path = Path(out) / CURVES_CSV
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def curve_number(row: dict, key: str) -> float | None:
    """A curves.csv cell as a number; None where the curve has none (a failed or unscored evaluation)."""
    value = row.get(key)
    return None if value in (None, "", "None") else float(value)


def _append(out: Path, rows: list[dict]) -> None:
    path = Path(out) / CURVES_CSV
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def evaluate_step(
    out: Path, step: int, variants: tuple[str, ...], *, recipe: Recipe, device: str = "cpu"
) -> None:
    """Score each variant's step-`step` checkpoint at depth 1 and at full depth; append to curves.csv."""
    from hybridcodec.checkpoint import MODEL_FILE, read_metadata, step_folder
    from hybridcodec.config import ModelConfig

    existing = read_curves(out)
    # The ASR floor (identity: the original audio) on the same items, once per folder, drawn as a line.
    if not any(r["variant"] == FLOOR for r in existing):
        _score(out, step, {"identity": None}, [1], recipe=recipe, device=device)
    done = {(int(r["step"]), r["variant"]) for r in existing}
    todo = [v for v in variants if (step, v) not in done]
    if not todo:
        return
    weights = {}
    for v in todo:
        path = step_folder(Path(out) / v, step) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the step-{step} checkpoint of {v} was pruned")
        weights[ADAPTER[v]] = str(path)
    full = ModelConfig.from_json(read_metadata(next(iter(weights.values())))["model_config"]).num_codebooks
    _score(out, step, weights, [1, full], recipe=recipe, device=device)


def missed_evaluations(out: Path, variants: tuple[str, ...], eval_every: int, reached: int) -> list[int]:
    """Evaluation steps up to `reached` that some variant has no curve rows for while every variant's checkpoint
    of that step is still here: a run stopped between training a round and scoring it (the next run trains on
    from the checkpoint, so its loop would never come back to that step). Steps whose checkpoints were pruned,
    or that a warm start never had, cannot be scored and are left out."""
    from hybridcodec.checkpoint import MODEL_FILE, step_folder

    done = {(int(r["step"]), r["variant"]) for r in read_curves(out)}
    return [
        step
        for step in range(eval_every, reached + 1, eval_every)
        if any((step, v) not in done for v in variants)
        and all((step_folder(Path(out) / v, step) / MODEL_FILE).is_file() for v in variants)
    ]


def _score(
    out: Path, step: int, weights: dict[str, str | None], depths: list[int], *, recipe: Recipe, device: str
) -> None:
    """Run the codecs (adapter name -> checkpoint) on the curve items and append their WERs to curves.csv."""
    from hybridbench.report.aggregate import item_frame, summarize
    from hybridbench.runner import RunConfig, Runner
    from hybridbench.store import ResultStore

    folder = Path(out) / "curves" / f"step_{step:07d}"
    config = RunConfig(
        codecs=list(weights), suites=[recipe.eval_suite], out=folder, depths=depths, asr=recipe.eval_asr,
        limit=recipe.eval_items, device=device, weights={k: v for k, v in weights.items() if v}, metrics=[],
        timing_repeats=1, include_reference=False,
    )  # fmt: skip
    summary = Runner(config).run()
    with ResultStore(folder / "results.sqlite") as store:
        rows = list(store.rows(summary.keys))
    table = summarize(item_frame(rows), [])
    by_codec = {a: v for v, a in ADAPTER.items()} | {"identity": FLOOR}
    _append(
        out,
        [
            {
                "step": step,
                "variant": by_codec[rec["codec"]],
                "depth": int(rec["depth"]),
                "wer": rec.get("wer"),
                "wer_low": rec.get("wer_low"),
                "wer_high": rec.get("wer_high"),
                "items": int(rec["items"]),
                "failed": int(rec["failed"]),
                "suite": rec["suite"],
                "asr": recipe.eval_asr,
            }
            for rec in table.to_dict("records")
        ],
    )


def _plot_mel_loss(ax, out: Path) -> None:
    """The training mel loss of each variant (mean over 100-step windows): learning shows here before WER moves."""
    import pandas as pd

    for variant, adapter in ADAPTER.items():
        path = out / variant / "metrics.csv"
        if not path.is_file():
            continue
        log = pd.read_csv(path)[["step", "loss/mel"]].dropna()
        means = log.groupby((log["step"] - 1) // 100 * 100 + 100)["loss/mel"].mean()
        ax.plot(means.index, means.to_numpy(), label=adapter)
    ax.set_title("training mel loss (100-step means)")
    ax.set_xlabel("training step")
    ax.set_ylabel("multi-scale mel L1 (log10)")
    ax.grid(alpha=0.3)
    ax.legend()


VALID_PANELS = (
    ("valid/mel", "held-out mel loss (validation split)", "multi-scale mel L1 (log10)"),
    ("valid/distillation_r2", "held-out teacher R2 of the semantic decoder", "R2"),
)


def _valid_logs(out: Path) -> dict:
    """Each variant's held-out logs, for the variants that have one: {adapter: (the training's valid.csv or
    None, the rows `minireplication revalidate` scored from shipped checkpoints or None)}."""
    import pandas as pd

    logs = {}
    for variant, adapter in ADAPTER.items():
        paths = (Path(out) / variant / VALID_LOG, Path(out) / variant / SHIPPED_VALID_LOG)
        # Empty: a training process has the log open and has not written its header yet.
        frames = tuple(pd.read_csv(p) if p.is_file() and p.stat().st_size else None for p in paths)
        if any(f is not None and not f.empty for f in frames):
            logs[adapter] = frames
    return logs


def _plot_valid(ax, logs: dict, column: str, title: str, ylabel: str) -> None:
    """One held-out quantity against step: memorisation shows as a training loss that falls while this does not.
    Points scored again from shipped fp16 checkpoints (steps whose training log stayed on another machine) are
    drawn hollow in the variant's colour."""
    any_shipped = False
    for adapter, (log, shipped) in logs.items():
        # Each variant keeps its colour in every panel, though dac has no teacher R2.
        colour, label = f"C{list(ADAPTER.values()).index(adapter)}", adapter
        if log is not None and column in log and log[column].notna().any():
            ax.plot(log["step"], log[column], marker=".", color=colour, label=adapter)
            label = None
        if shipped is not None and column in shipped and shipped[column].notna().any():
            ax.plot(
                shipped["step"], shipped[column], linestyle="--", marker="o", markerfacecolor="none",
                color=colour, label=label,
            )  # fmt: skip
            any_shipped = True
    if any_shipped:  # one legend entry says what the hollow points are
        ax.plot([], [], "o", markerfacecolor="none", color="grey", label="shipped fp16 weights, scored again")
    ax.set_title(title)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()


def warm_start_steps(out: Path) -> list[int]:
    """The steps at which the runs in `out` were warm-started on another machine (the first variant's chain)."""
    from hybridcodec.checkpoint import MODEL_FILE, read_metadata, warm_start_chain

    for variant in ADAPTER:
        path = Path(out) / variant / MODEL_FILE
        if path.is_file():
            return sorted(int(w["step"]) for w in warm_start_chain(read_metadata(path)))
    return []


def anneal_spans(out: Path) -> list[tuple[int, int]]:
    """The (first, last) steps of each anneal of the learning rate to 0 in `out`'s runs (the first variant's
    config): one, or more when the run was re-warmed after one."""
    from hybridcodec.checkpoint import MODEL_FILE, read_metadata
    from hybridcodec.config import TrainConfig

    for variant in ADAPTER:
        path = Path(out) / variant / MODEL_FILE
        if path.is_file():
            anneals = TrainConfig.from_json(read_metadata(path)["train_config"]).optim.schedule.anneals
            return [(start, start + steps) for start, steps in anneals]
    return []


def wer_axis_top(values: list[float]) -> tuple[float, bool]:
    """The top of a WER panel (%): the highest value plus 5 %, at most WER_AXIS_CAP; True when that cut data."""
    top = 1.05 * max(values, default=100.0)
    return min(top, WER_AXIS_CAP), top > WER_AXIS_CAP


def plot_curves(out: Path) -> Path | None:
    """learning-curves.png: WER vs step, one panel per depth (1 and full), one line per variant, 95 % bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_curves(out) if curve_number(r, "wer") is not None]
    if not rows:
        return None
    floor = [100 * float(r["wer"]) for r in rows if r["variant"] == FLOOR]
    rows = [r for r in rows if r["variant"] != FLOOR]
    depths = sorted({int(r["depth"]) for r in rows})
    valid = _valid_logs(Path(out))
    extra = len(VALID_PANELS) if valid else 0
    panels = len(depths) + 1 + extra
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    _plot_mel_loss(axes[0][len(depths)], Path(out))
    for ax, (column, title, ylabel) in zip(
        axes[0][len(depths) + 1 :], VALID_PANELS if valid else (), strict=True
    ):
        _plot_valid(ax, valid, column, title, ylabel)
    warm = warm_start_steps(Path(out))
    anneals = anneal_spans(Path(out))
    for ax in axes[0]:
        for i, span in enumerate(anneals):
            ax.axvspan(
                *span, color="black", alpha=0.07, label="learning rate annealed to 0" if i == 0 else None
            )
        for i, step in enumerate(warm):
            # Training went on on another machine from here: new optimizer moments (see hybridcodec/train.py).
            ax.axvline(step, color="black", linestyle=":", alpha=0.6, label="warm start" if i == 0 else None)
    for ax, depth in zip(axes[0], depths, strict=False):
        shown: list[float] = []
        for variant in ADAPTER:
            pts = sorted(
                (int(r["step"]), 100 * float(r["wer"]), 100 * float(r["wer_low"] or r["wer"]),
                 100 * float(r["wer_high"] or r["wer"]))
                for r in rows if r["variant"] == variant and int(r["depth"]) == depth
            )  # fmt: skip
            if not pts:
                continue
            steps, wer, low, high = zip(*pts, strict=True)
            (line,) = ax.plot(steps, wer, marker="o", label=ADAPTER[variant])
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)
            shown += [*wer, *high]
        if floor:
            ax.axhline(floor[0], color="grey", linestyle="--", label=f"original audio ({floor[0]:.1f} %)")
        if depth == depths[-1] and depth > 1:
            target = 100 * TARGET_FULL_WER
            ax.axhline(target, color="black", linestyle="-.", alpha=0.7, label=f"target ({target:.0f} %)")
        top, cut = wer_axis_top(shown)
        ax.set_title(
            f"depth {depth} ({'RVQ-1' if depth == 1 else 'full'})" + (f", cut at {top:.0f} %" if cut else "")
        )
        ax.set_xlabel("training step")
        ax.set_ylabel("WER % (95 % bootstrap interval)")
        ax.set_ylim(0, top)
        ax.grid(alpha=0.3)
        ax.legend()
    suite, asr = rows[0]["suite"], rows[0]["asr"]
    fig.suptitle(f"Learning curves on {suite} (first {rows[0]['items']} items, {asr})")
    fig.tight_layout()
    path = Path(out) / CURVES_PNG
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
