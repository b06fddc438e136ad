"""`minireplication settle`: does distillation, done right, put more content into RVQ-1? Three arms, one question.

Every arm is warm-started from the shipped `dac` mini (no distillation so far) at its step, on the same corpus,
crops (a function of seed and step), seed and learning-rate re-warm, for the same number of steps:

- `no-distillation`: the dac model trained on (the control);
- `raw-target`: the same model turned dac-distill, distilling the raw Whisper-base encoder output (what the
  shipped minis were trained on);
- `new-target-<form>`: the same, distilling the processed target (window-position mean removed, standardised
  per dimension on the training corpus: hybridcodec.target), one arm per loss form (mse, d-axis, cosine). The
  form is chosen by the probe R2 of RVQ-1 on the corpus's validation split, never on the test suite; the chosen
  arm is the experiment's third arm.

Each arm is an ordinary `hybridcodec train` run folder under OUT/<arm> (rerunning resumes). The arms are then
read on held-out speech (`evaluate`): RVQ-1 and full-depth WER on asterisk-en-test with paired intervals, the
probe R2 of RVQ-1 codes for the teacher's processed target and for log-mel, and the depth-1 mel loss.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec.nn.losses import DISTILLATION_FORMS
from minireplication.errors import ReplicationError
from minireplication.replicate import shipped_file, variant_step

FORM_ARMS = tuple(f"new-target-{form}" for form in DISTILLATION_FORMS)
ARMS = ("no-distillation", "raw-target", *FORM_ARMS)
TEACHER = "whisper-base-encoder"
SEMANTIC_DECODER_LAYERS = 2  # the mini preset's: the distilled arms get a fresh semantic decoder of this size


@dataclass(frozen=True)
class Experiment:
    out: Path
    data: Path  # training manifest (the replication corpus)
    valid: Path  # its validation split
    init_from: Path = Path("minireplication/checkpoints/mini")
    steps: int = 3000  # per arm, from the shipped step
    anneal_steps: int = 1000  # the last steps of each arm anneal the learning rate to 0
    jobs: int = 2
    device: str = "cpu"

    @property
    def start(self) -> int:
        return int(ckpt.read_metadata(shipped_file(self.init_from, "dac"))["step"])

    @property
    def target(self) -> int:
        return self.start + self.steps


def arm_options(exp: Experiment, arm: str) -> list[str]:
    """What sets an arm apart: nothing for the control; the variant, teacher, target and loss form otherwise."""
    if arm == "no-distillation":
        return []
    target, form = (
        ("raw", "mse") if arm == "raw-target" else ("depositioned", arm.removeprefix("new-target-"))
    )
    return [
        "--variant", "dac-distill", "--semantic-decoder-layers", str(SEMANTIC_DECODER_LAYERS), "--teacher", TEACHER,
        "--teacher-target", target, "--distillation-form", form,
    ]  # fmt: skip


def train_command(exp: Experiment, arm: str, threads: int) -> list[str]:
    run = exp.out / arm
    cmd = [sys.executable, "-m", "hybridcodec.cli", "train", "--out", str(run), "--steps", str(exp.target)]
    cmd += ["--data", str(exp.data), "--valid", str(exp.valid), "--device", exp.device]
    cmd += ["--threads", str(threads), "--no-progress"]
    cmd += ["--anneal-start", str(exp.target - exp.anneal_steps), "--anneal-steps", str(exp.anneal_steps)]
    if variant_step(run) > 0:
        return [*cmd, "--rewarm", "--resume"]
    return [*cmd, "--rewarm", "--init-from", str(shipped_file(exp.init_from, "dac")), *arm_options(exp, arm)]


def train_arms(exp: Experiment, arms: tuple[str, ...] = ARMS) -> None:
    """Bring every arm to the target step, `jobs` at a time, each in its own process (train.log in its folder)."""
    todo = [a for a in arms if variant_step(exp.out / a) < exp.target]
    threads = max(1, (os.cpu_count() or 1) // max(1, exp.jobs))

    def one(arm: str) -> tuple[str, int]:
        log = exp.out / arm / "train.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            f.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} -> step {exp.target}\n")
            f.flush()
            done = subprocess.run(train_command(exp, arm, threads), stdout=f, stderr=subprocess.STDOUT)
        return arm, done.returncode

    with ThreadPoolExecutor(max_workers=max(1, exp.jobs)) as pool:
        failed = [arm for arm, rc in pool.map(one, todo) if rc != 0]
    if failed:
        raise ReplicationError(
            f"training failed for {', '.join(failed)}", f"see {exp.out / failed[0]}/train.log"
        )


# ---- reading the arms ------------------------------------------------------------------------------------------
START = "start"  # the shipped dac mini every arm starts from, read beside them
ADAPTERS = {START: "hybridcodec-dac", "no-distillation": "hybridcodec-dac"} | {
    arm: "hybridcodec-dac-distill" for arm in ("raw-target", *FORM_ARMS)
}
EVAL_SUITE = "asterisk-en-test"
CHECK_LAYERS = (2, 4, 6)  # Whisper base's blocks read beside its last (normalised) output
LAYER_FIT_FILES = 150
EVAL_ASR = "whisper-base"
RESULTS = "results.json"
MEASURES_VERSION = 2  # bump when what measures.json holds changes


def arm_model(exp: Experiment, arm: str) -> Path:
    """The model file an arm is read from: the shipped dac mini for START, else the arm's final checkpoint."""
    if arm == START:
        return shipped_file(exp.init_from, "dac")
    step = variant_step(exp.out / arm)
    if step != exp.target:
        raise ReplicationError(
            f"arm {arm} is at step {step}, not {exp.target}", "train the arms first (minireplication settle)"
        )
    return ckpt.step_folder(exp.out / arm, step) / ckpt.MODEL_FILE


def wer_rows(exp: Experiment, arm: str, device: str = "cpu") -> list:
    """The arm's rows (RVQ-1 and full depth, every item of the suite), its codec named after the arm."""

    from hybridbench.runner import RunConfig, Runner
    from hybridbench.store import ResultStore

    adapter, folder = ADAPTERS[arm], exp.out / "eval" / arm
    config = RunConfig(
        codecs=[adapter], suites=[EVAL_SUITE], out=folder, depths=[1, 12], asr=EVAL_ASR, device=device,
        weights={adapter: str(arm_model(exp, arm))}, metrics=[], timing_repeats=1, include_reference=False,
    )  # fmt: skip
    summary = Runner(config).run()
    with ResultStore(folder / "results.sqlite") as store:
        return [dataclasses.replace(r, codec=arm) for r in store.rows(summary.keys)]


def mel_losses(path: Path, files: list[Path]) -> dict[str, float]:
    """The trainer's multi-scale mel loss between each held-out utterance and its depth-1 and full-depth
    reconstructions, averaged over utterances."""
    import torch

    from hybridcodec.config import TrainConfig
    from hybridcodec.measure import audio
    from hybridcodec.nn.losses import MultiScaleMelLoss

    model, meta = ckpt.load_model(path)
    model = model.float()
    lc = TrainConfig.from_json(meta["train_config"]).loss
    loss = MultiScaleMelLoss(sample_rate=model.config.sample_rate, windows=lc.mel_windows, n_mels=lc.mel_bins)
    sums = {"depth1": 0.0, "full": 0.0}
    with torch.inference_mode():
        for f in files:
            wav = model.pad(audio(f, model.config.sample_rate)[None, None])
            codes = model.encode(wav)
            sums["depth1"] += loss(model.decode(codes[:, :1]), wav).item()
            sums["full"] += loss(model.decode(codes), wav).item()
    return {k: v / len(files) for k, v in sums.items()}


def evaluate(exp: Experiment, arms: tuple[str, ...] = (START, *ARMS)) -> dict:
    """Every measurement of the page, written to OUT/results.json (rows stay in OUT/eval/<arm>/)."""
    from hybridbench.comparison import compare_rows
    from hybridbench.report.aggregate import item_frame, summarize
    from hybridbench.stats import paired_rate_difference
    from hybridcodec import measure
    from hybridcodec import target as target_mod
    from hybridcodec.inference import LoadedModel
    from hybridcodec.teachers import TeacherSpec

    splits = {
        "fit": measure.utterances(str(exp.data)),
        "valid": measure.utterances(str(exp.valid)),
        "test": measure.utterances(EVAL_SUITE),
    }
    spec = TeacherSpec(name=TEACHER)
    checks = measure.teacher_check(spec, splits["fit"], splits["test"])
    # Intermediate layers of the same encoder, beside the last (fitted on an even subset of the corpus: each
    # file costs a full 30 s window of Whisper in PyTorch).
    layer_fit = splits["fit"][:: max(1, len(splits["fit"]) // LAYER_FIT_FILES)][:LAYER_FIT_FILES]
    layer_specs = [TeacherSpec(name=TEACHER, layer=k) for k in CHECK_LAYERS]
    measure.prefetch_layers(layer_specs, layer_fit + splits["test"])
    layer_checks = {
        k: measure.teacher_check(s, layer_fit, splits["test"], ("raw", "depositioned"))
        for k, s in zip(CHECK_LAYERS, layer_specs, strict=True)
    }
    raw = {k: measure.raw_features(spec, f) for k, f in splits.items()}
    stats = target_mod.fit(raw["fit"], kind="depositioned", frame_rate=measure.FRAME_RATE)
    target = {k: measure.processed(v, stats, measure.FRAME_RATE) for k, v in raw.items()}
    mels = {k: measure.mel_targets(f, measure.FRAME_RATE) for k, f in splits.items()}

    rows, arms_out = [], {}
    for arm in arms:
        path = arm_model(exp, arm)
        cached = exp.out / "eval" / arm / "measures.json"
        sha = sha256_file(path)
        measured = json.loads(cached.read_text()) if cached.is_file() else {}
        # Measured once per model file (rows are cached by the store).
        if measured.get("model_sha256") != sha or measured.get("version") != MEASURES_VERSION:
            print(f"measuring arm {arm}", file=sys.stderr)
            codec = LoadedModel.load(path)
            codes = {k: measure.encode_files(codec.encode, codec.sample_rate, f) for k, f in splits.items()}
            found = measure.probe_codec(
                arm, 1, codec.codebook_sizes, (codes["fit"], target["fit"], mels["fit"]),
                {split: (codes[split], target[split], mels[split]) for split in ("valid", "test")},
            )  # fmt: skip
            probes = {p.split: p for p in found}
            measured = {
                "version": MEASURES_VERSION,
                "model": str(path),
                "model_sha256": sha,
                "probe": {
                    split: {
                        "teacher_r2": p.teacher_r2,
                        "logmel_r2": p.logmel_r2,
                        "frames": p.held_frames,
                        "teacher_sse": p.teacher_sse,
                        "teacher_sst": p.teacher_sst,
                    }
                    for split, p in probes.items()
                },
                "mel_loss": mel_losses(path, splits["test"]),
            }
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(measured, indent=2) + "\n")
        rows += wer_rows(exp, arm)
        arms_out[arm] = measured
    summary = summarize(item_frame(rows), [])
    for arm in arms:
        for depth in (1, 12):
            hit = summary[(summary["codec"] == arm) & (summary["depth"] == depth)].iloc[0]
            arms_out[arm][f"wer{depth}"] = {k: float(hit[k]) for k in ("wer", "wer_low", "wer_high")} | {
                "items": int(hit["items"])
            }
    chosen = max(
        (a for a in FORM_ARMS if a in arms_out),
        key=lambda a: arms_out[a]["probe"]["valid"]["teacher_r2"],
        default=None,
    )
    pairs = []
    for a, b in (
        (chosen, "no-distillation"),
        ("raw-target", "no-distillation"),
        (chosen, "raw-target"),
        ("no-distillation", START),
    ):
        if a is None or a not in arms_out or b not in arms_out:
            continue
        for depth in (1, 12):
            c = compare_rows(rows, a=a, b=b, depth=depth, suite=EVAL_SUITE, metric="wer")
            r = c.result
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "depth": depth,
                    "difference": r.difference,
                    "low": r.low,
                    "high": r.high,
                    "p": r.p_value,
                    "pairs": c.pairs,
                }
            )
    probe_pairs = []
    for a, b in ((chosen, "no-distillation"), ("raw-target", "no-distillation"), (chosen, "raw-target")):
        if a is None or a not in arms_out or b not in arms_out:
            continue
        pa, pb = arms_out[a]["probe"]["test"], arms_out[b]["probe"]["test"]
        c = paired_rate_difference(pa["teacher_sse"], pa["teacher_sst"], pb["teacher_sse"], pb["teacher_sst"])
        # The bootstrap reads unexplained shares (1 - R2): A - B of R2 is minus their difference.
        probe_pairs.append(
            {
                "a": a,
                "b": b,
                "difference": -c.difference,
                "low": -c.high,
                "high": -c.low,
                "p": c.p_value,
                "pairs": c.n,
            }
        )
    results = {
        "probe_pairs": probe_pairs,
        "experiment": {k: str(v) for k, v in vars(exp).items()}
        | {"start_step": exp.start, "target_step": exp.target},
        "teacher": dataclasses.asdict(spec),
        "target_stats_sha256": target_mod.make_target(stats, frame_rate=measure.FRAME_RATE).sha256(),
        "teacher_check": {
            "fit": f"the replication corpus, manifest {sha256_file(exp.data)[:12]}",
            "held_out": EVAL_SUITE,
            "rows": measure.as_dict(checks),
        },
        "layer_check": {
            "fit_files": len(layer_fit),
            "layers": {str(k): measure.as_dict(rows) for k, rows in layer_checks.items()},
        },
        "arms": arms_out,
        "chosen_form_arm": chosen,
        "pairs": pairs,
        "files": {k: len(f) for k, f in splits.items()},
    }
    (exp.out / RESULTS).write_text(json.dumps(results, indent=2) + "\n")
    return results


# ---- the page ----------------------------------------------------------------------------------------------------
LABELS = {
    START: "start: shipped dac mini (no further training)",
    "no-distillation": "(i) no distillation",
    "raw-target": "(ii) raw target, mse",
} | {arm: f"new target, {arm.removeprefix('new-target-')}" for arm in FORM_ARMS}


def _verdict(results: dict) -> list[str]:
    """What the experiment shows, read from the paired intervals and probes (never typed in)."""
    arms, chosen = results["arms"], results["chosen_form_arm"]
    pair = {(p["a"], p["b"], p["depth"]): p for p in results["pairs"]}
    lines = []

    def side(p: dict) -> str:
        if p["high"] < 0:
            return "lower"
        if p["low"] > 0:
            return "higher"
        return "not distinguishable from"

    for arm in ("raw-target", chosen):
        if arm is None or (arm, "no-distillation", 1) not in pair:
            continue
        one, full = pair[(arm, "no-distillation", 1)], pair[(arm, "no-distillation", 12)]
        r2, r2_none = (
            arms[arm]["probe"]["test"]["teacher_r2"],
            arms["no-distillation"]["probe"]["test"]["teacher_r2"],
        )
        lines.append(
            f"{LABELS[arm]} against (i): RVQ-1 WER {side(one)} ({100 * one['difference']:+.1f} points "
            f"[{100 * one['low']:+.1f}, {100 * one['high']:+.1f}]), full-depth WER {side(full)} "
            f"({100 * full['difference']:+.1f} [{100 * full['low']:+.1f}, {100 * full['high']:+.1f}]); "
            f"RVQ-1 probe R2 for the processed teacher {r2:.3f} against {r2_none:.3f}."
        )
    if chosen is not None and (chosen, "no-distillation", 1) in pair:
        one, full = pair[(chosen, "no-distillation", 1)], pair[(chosen, "no-distillation", 12)]
        probe = {(p["a"], p["b"]): p for p in results.get("probe_pairs", [])}.get((chosen, "no-distillation"))
        r2_gain = probe is not None and probe["low"] > 0  # the paired interval of the R2 gain above 0
        wins = (one["high"] < 0 or r2_gain) and not full["low"] > 0
        held = [what for what, ok in (("RVQ-1 WER", one["high"] < 0), ("probe R2", r2_gain)) if ok]
        lines.append(
            "Verdict: the new target "
            + (
                f"wins by the {' and '.join(held)} (paired interval wholly on the better side; the other criterion "
                "of the issue's rule, a lower RVQ-1 WER or a higher probe R2, is read above), without a full-depth cost "
                "(the issue's rule); the teacher-using variants are to be retrained on it."
                if wins
                else "does not win by the issue's rule (better RVQ-1 WER or probe R2 than (i) without a full-depth "
                "cost): the remaining limits are named below instead of verdicts on the paper."
            )
        )
    return lines


def _layer_section(results: dict) -> list[str]:
    """Whisper's intermediate blocks beside its last layer, raw and depositioned."""
    layers = results.get("layer_check")
    if not layers:
        return []
    from hybridbench.report.tables import markdown_table

    rows = [
        [f"block {k}" + (" (the last, before its final layer norm)" if k == str(CHECK_LAYERS[-1]) else ""),
         r["target"], f"{100 * r['position_share']:.1f} %", f"{100 * r['top8_pc']:.1f} %", f"{r['logmel_r2']:.3f}"]
        for k, checks in layers["layers"].items()
        for r in checks
    ]  # fmt: skip
    return [
        f"The same, for blocks of Whisper base's encoder (read in PyTorch from the same weights), statistics fitted "
        f"on {layers['fit_files']} files spread over the corpus (`hybridcodec teacher-check --fit CORPUS_MANIFEST "
        f"--fit-limit {layers['fit_files']} --eval {EVAL_SUITE} "
        f"{' '.join(f'--teacher-layer {k}' for k in layers['layers'])}`):",
        "",
        markdown_table(["layer", "target", "position share", "top-8 PCs", "log-mel R2"], rows),
        "",
    ]


def write_page(results: dict, *, page: Path, reports: Path, runs: Path) -> Path:
    """leaderboards/distillation-experiment.md (and its validation-curve figure) from results.json."""
    from hybridbench.provenance import git_short
    from hybridbench.report.tables import format_pct, markdown_table
    from hybridbench.timing import cpu_name

    exp, arms, chosen = results["experiment"], results["arms"], results["chosen_form_arm"]
    figure = plot_validation(runs, reports / "validation-curves.png")
    check_rows = [
        [r["target"], f"{100 * r['position_share']:.1f} %", f"{100 * r['top1_pc']:.1f} %",
         f"{100 * r['top8_pc']:.1f} %", f"{100 * r['top7_dims']:.1f} %", f"{r['logmel_r2']:.3f}"]
        for r in results["teacher_check"]["rows"]
    ]  # fmt: skip
    arm_rows = []
    for arm, a in arms.items():
        w1, w12 = a["wer1"], a["wer12"]
        arm_rows.append(
            [LABELS.get(arm, arm) + (" — chosen form" if arm == chosen else ""),
             f"{format_pct(w1['wer'])} [{format_pct(w1['wer_low'])}, {format_pct(w1['wer_high'])}]",
             f"{format_pct(w12['wer'])} [{format_pct(w12['wer_low'])}, {format_pct(w12['wer_high'])}]",
             f"{a['probe']['test']['teacher_r2']:.3f}", f"{a['probe']['test']['logmel_r2']:.3f}",
             f"{a['probe']['valid']['teacher_r2']:.3f}", f"{a['mel_loss']['depth1']:.3f}", f"{a['mel_loss']['full']:.3f}",
             str(w1["items"])]
        )  # fmt: skip
    pair_rows = [
        [f"{LABELS.get(p['a'], p['a'])} − {LABELS.get(p['b'], p['b'])}", str(p["depth"]),
         f"{100 * p['difference']:+.1f} [{100 * p['low']:+.1f}, {100 * p['high']:+.1f}]", f"{p['p']:.3g}", str(p["pairs"])]
        for p in results["pairs"]
    ]  # fmt: skip
    files = results["files"]
    text = [
        "# Does distillation put content into RVQ-1? The settling experiment",
        "",
        f"Regenerate: `minireplication settle --out {runs} --arms {','.join(a for a in arms if a != START)}` "
        f"(`make settle` trains and reads every arm). Generated {time.strftime('%Y-%m-%d')} at git "
        f"{git_short()} on {cpu_name()} (CPU). Every arm is warm-started from the shipped `dac` mini at step "
        f"{exp['start_step']} and trained to step {exp['target_step']} on the same corpus, crops, seed and "
        f"learning-rate re-warm (back to the schedule, annealed to 0 over the last {exp['anneal_steps']} steps); "
        "they differ only in what is distilled into the first codebook.",
        "",
        "## The target: what a causal codec can learn",
        "",
        f"Teacher: the Whisper-base encoder (last layer), pooled to 25 Hz. Statistics fitted on the training corpus "
        f"({results['teacher_check']['fit']}), read on {results['teacher_check']['held_out']} (held out). Position "
        "share: held-out variance explained by the frame's position in Whisper's 30 s window alone; top-k: variance "
        "in the top principal component(s) and in the 7 largest dimensions; log-mel R2: held-out R2 of a ridge map "
        "from 5 causal log-mel frames (how much a local acoustic view reaches). "
        "`hybridcodec teacher-check --fit CORPUS_MANIFEST --eval asterisk-en-test` prints it.",
        "",
        markdown_table(
            ["target", "position share", "top-1 PC", "top-8 PCs", "top-7 dims", "log-mel R2"], check_rows
        ),
        "",
        *_layer_section(results),
        "## The arms, on held-out speech",
        "",
        f"WER: Whisper base on all {files['test']} prompts of asterisk-en-test (corpus WER, 95 % bootstrap interval). "
        "Probe R2: a ridge map from the one-hot RVQ-1 codes (5 causal frames) fitted on the training corpus "
        f"({files['fit']} files), read on asterisk-en-test (teacher: the depositioned, standardised target; "
        f"log-mel: 80 bins) and on the corpus's validation split ({files['valid']} files, held-out sentences), on "
        "which alone the loss form was chosen. Mel loss: the trainer's multi-scale mel L1 on asterisk-en-test.",
        "",
        markdown_table(
            [
                "arm",
                "RVQ-1 WER %",
                "full WER %",
                "RVQ-1 probe R2: teacher",
                "RVQ-1 probe R2: log-mel",
                "teacher R2 (validation split)",
                "mel loss @1",
                "mel loss @12",
                "items",
            ],
            arm_rows,
        ),  # fmt: skip
        "",
        f"Every number here is also in [{page.with_suffix('.json').name}]({page.with_suffix('.json').name}). "
        "Paired differences of WER (percentage points, 95 % paired bootstrap interval, permutation p):",
        "",
        markdown_table(["difference", "depth", "WER difference", "p", "pairs"], pair_rows),
        "",
        "Paired differences of the RVQ-1 probe R2 for the teacher on asterisk-en-test (95 % paired bootstrap "
        "interval over utterances, permutation p):",
        "",
        markdown_table(
            ["difference", "R2 difference", "p", "utterances"],
            [
                [
                    f"{LABELS.get(p['a'], p['a'])} − {LABELS.get(p['b'], p['b'])}",
                    f"{p['difference']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}]",
                    f"{p['p']:.3g}",
                    str(p["pairs"]),
                ]
                for p in results.get("probe_pairs", [])
            ],
        ),  # fmt: skip
        "",
        *[f"- {line}" for line in _verdict(results)],
        "",
    ]
    if figure is not None:
        text += [
            "Held-out losses during training (the corpus's validation split, 64 fixed crops, every 250 steps):",
            "",
            f"![validation curves]({Path('..') / figure})",
            "",
        ]
    text += [
        "## What this cannot show",
        "",
        "- One training run per arm: seed-to-seed variation is not in the intervals, which cover utterance sampling.",
        "- 3,000 steps of 4.4M-parameter models on 0.9 h of speech (one real speaker, four synthetic voices), warm-"
        "started from a model trained without distillation; the paper trains 160M-parameter models from scratch on "
        "960 h.",
        "- The teacher is the last layer of Whisper base's encoder, not w2v-BERT 2.0 layer 16; its log-mel probe "
        "ceiling above shows how contextual it is for a causal codec.",
        "- WER by Whisper base, not large-v3; English only.",
        f"- Loss forms compared: {', '.join(a.removeprefix('new-target-') for a in arms if a in FORM_ARMS)} "
        f"(implemented: {', '.join(DISTILLATION_FORMS)}; `minireplication settle --arms` runs the others).",
        "",
    ]
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(text))
    # Every number of the page, beside it, for a reader who wants to check or reuse them.
    page.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    return page


def plot_validation(runs: Path, path: Path) -> Path | None:
    """Held-out mel loss (full depth and depth 1) and teacher R2 against step, one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    logs = {arm: runs / arm / "valid.csv" for arm in ARMS if (runs / arm / "valid.csv").is_file()}
    if not logs:
        return None
    panels = [("valid/mel", "held-out mel loss, full depth"), ("valid/mel_depth1", "held-out mel loss, RVQ-1 only"),
              ("valid/distillation_r2", "held-out teacher R2 of the semantic decoder")]  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 4.2))
    for ax, (column, title) in zip(axes, panels, strict=True):
        for arm, csv_path in logs.items():
            frame = pd.read_csv(csv_path)
            if column in frame and frame[column].notna().any():
                ax.plot(
                    frame["step"], frame[column], marker=".", label=LABELS[arm], color=f"C{ARMS.index(arm)}"
                )
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
