"""Learning curves: the CSV a replication appends to and the plot drawn from it."""

from __future__ import annotations

import csv
from pathlib import Path

from minireplication.curves import COLUMNS, CURVES_CSV, plot_curves, read_curves


def test_plot_draws_one_panel_per_depth_from_the_csv(tmp_path: Path):
    assert plot_curves(tmp_path) is None  # nothing evaluated yet: no plot, no error
    with open(tmp_path / CURVES_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for step in (500, 1000):
            for variant in ("hybrid", "dac"):
                for depth in (1, 12):
                    wer = 0.5 / step * 1000 / depth
                    w.writerow({"step": step, "variant": variant, "depth": depth, "wer": wer, "wer_low": wer * 0.9,
                                "wer_high": wer * 1.1, "items": 30, "failed": 0, "suite": "asterisk-en-test",
                                "asr": "whisper-base"})  # fmt: skip
        w.writerow({"step": 500, "variant": "identity", "depth": 1, "wer": 0.0, "wer_low": 0.0, "wer_high": 0.0,
                    "items": 30, "failed": 0, "suite": "asterisk-en-test", "asr": "whisper-base"})  # fmt: skip
    path = plot_curves(tmp_path)
    assert path is not None and path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"
    assert len(read_curves(tmp_path)) == 9


def test_warm_starts_are_read_from_the_checkpoint_chain(tmp_path: Path):
    import json

    from hybridcodec import checkpoint as ckpt
    from hybridcodec.config import preset
    from hybridcodec.model import HybridCodec
    from minireplication.curves import warm_start_steps

    assert warm_start_steps(tmp_path) == []
    chain = {"step": 4000, "device": "gpu", "previous": {"step": 1750, "device": "cpu", "previous": None}}
    model = HybridCodec(config=preset("tiny").model)
    ckpt.save_model(tmp_path / "hybrid" / ckpt.MODEL_FILE, model, {"warm_start": json.dumps(chain)})
    assert warm_start_steps(tmp_path) == [1750, 4000]


def test_the_anneal_spans_are_read_from_the_checkpoint_config(tmp_path: Path):
    import dataclasses

    from hybridcodec import checkpoint as ckpt
    from hybridcodec.config import Schedule, preset
    from hybridcodec.model import HybridCodec
    from minireplication.curves import anneal_spans

    assert anneal_spans(tmp_path) == []
    cfg = preset("tiny")
    model = HybridCodec(config=cfg.model)
    ckpt.save_model(tmp_path / "hybrid" / ckpt.MODEL_FILE, model, {"train_config": cfg.to_json()})
    assert anneal_spans(tmp_path) == []  # trained without an anneal
    annealed = dataclasses.replace(
        cfg, optim=dataclasses.replace(cfg.optim, schedule=Schedule(anneals=((700, 300),)))
    )
    ckpt.save_model(tmp_path / "hybrid" / ckpt.MODEL_FILE, model, {"train_config": annealed.to_json()})
    assert anneal_spans(tmp_path) == [(700, 1000)]
    rewarmed = dataclasses.replace(
        cfg,
        optim=dataclasses.replace(cfg.optim, schedule=Schedule(anneals=((700, 300), (1500, 500)))),
    )
    ckpt.save_model(tmp_path / "hybrid" / ckpt.MODEL_FILE, model, {"train_config": rewarmed.to_json()})
    assert anneal_spans(tmp_path) == [(700, 1000), (1500, 2000)]


def test_the_wer_axis_is_cut_where_whisper_only_transcribes_noise():
    from minireplication.curves import WER_AXIS_CAP, wer_axis_top

    assert wer_axis_top([20.0, 80.0]) == (84.0, False)  # everything fits: 5 % headroom
    assert wer_axis_top([20.0, 320.0]) == (WER_AXIS_CAP, True)  # an early spike no longer flattens the rest
    assert wer_axis_top([]) == (105.0, False)


def test_missed_evaluations_are_the_unscored_steps_whose_checkpoints_remain(tmp_path: Path):
    from hybridcodec.checkpoint import MODEL_FILE, step_folder
    from minireplication.curves import missed_evaluations

    variants = ("hybrid", "dac")
    for v in variants:
        for step in (750, 1000, 1250, 1500):  # 500 pruned
            (step_folder(tmp_path / v, step)).mkdir(parents=True)
            (step_folder(tmp_path / v, step) / MODEL_FILE).write_bytes(b"")
    (step_folder(tmp_path / "dac", 1500) / MODEL_FILE).unlink()  # one variant's checkpoint gone: cannot score
    with open(tmp_path / CURVES_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for variant in variants:  # 500 scored; 1000 scored for one variant only (a run stopped mid-scoring)
            w.writerow({"step": 500, "variant": variant, "depth": 1, "wer": 0.5})
        w.writerow({"step": 1000, "variant": "hybrid", "depth": 1, "wer": 0.4})
    assert missed_evaluations(tmp_path, variants, 500, 1500) == [1000]
    assert missed_evaluations(tmp_path, variants, 500, 999) == []
    assert missed_evaluations(tmp_path, variants, 250, 1250) == [750, 1000, 1250]


def test_held_out_points_scored_from_shipped_weights_are_drawn_hollow_in_the_variants_colour(tmp_path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minireplication.curves import _plot_valid, _valid_logs
    from minireplication.replicate import SHIPPED_VALID_LOG

    def write(path: Path, steps: tuple[int, ...]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("step,valid/mel\n" + "".join(f"{s},{1 + 1 / s}\n" for s in steps))

    write(tmp_path / "hybrid" / "valid.csv", (750, 1000))  # logged by training
    write(tmp_path / "hybrid" / SHIPPED_VALID_LOG, (250, 500))  # the earlier steps, from shipped checkpoints
    write(tmp_path / "dac" / SHIPPED_VALID_LOG, (250,))  # a variant with shipped points only
    (tmp_path / "dac" / "valid.csv").touch()  # opened by a training process that has not written to it yet
    logs = _valid_logs(tmp_path)
    assert set(logs) == {"hybridcodec", "hybridcodec-dac"} and logs["hybridcodec-dac"][0] is None
    fig, ax = plt.subplots()
    _plot_valid(ax, logs, "valid/mel", "held-out mel", "L1")
    trained, hybrid_shipped, dac_shipped, _ = ax.get_lines()
    assert list(hybrid_shipped.get_xdata()) == [250, 500] and hybrid_shipped.get_markerfacecolor() == "none"
    assert hybrid_shipped.get_color() == trained.get_color() != dac_shipped.get_color()
    # dac (no teacher R2) keeps the colour it has in the panels where it has a line.
    _, r2_ax = plt.subplots()
    _plot_valid(r2_ax, {"hybridcodec-dac-distill": logs["hybridcodec"]}, "valid/mel", "", "")
    assert r2_ax.get_lines()[0].get_color() == "C2"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["hybridcodec", "hybridcodec-dac", "shipped fp16 weights, scored again"]
    plt.close(fig)


def test_leaderboard_draws_the_curves_of_the_shipped_history_not_a_stale_copy(tmp_path: Path):
    from minireplication.leaderboard import _draw_curves

    shipped, reports = tmp_path / "mini", tmp_path / "reports"
    assert _draw_curves(shipped, reports) is None  # nothing shipped: no figure
    (shipped / "history").mkdir(parents=True)
    with open(shipped / "history" / CURVES_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for step in (500, 1000):
            for variant in ("hybrid", "dac"):
                w.writerow({"step": step, "variant": variant, "depth": 1, "wer": 0.4, "wer_low": 0.3,
                            "wer_high": 0.5, "items": 30, "failed": 0, "suite": "asterisk-en-test",
                            "asr": "whisper-base"})  # fmt: skip
    (shipped / "history" / "hybrid-valid.csv").write_text(
        "step,valid/mel,valid/distillation_r2\n500,2.0,0.1\n"
    )
    reports.mkdir()
    (reports / CURVES_CSV).write_text("an older run's curves\n")
    path = _draw_curves(shipped, reports)
    assert path == reports / "learning-curves.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert (reports / CURVES_CSV).read_bytes() == (shipped / "history" / CURVES_CSV).read_bytes()
    assert not (shipped / "history" / "learning-curves.png").exists()  # drawn aside, the package untouched
