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


def train_arms(exp: Experiment, arms: tuple[str, ...] = ARMS, threads: int | None = None) -> None:
    """Bring every arm to the target step, `jobs` at a time, each in its own process (train.log in its folder),
    with `threads` torch threads each (default: the cores shared out between the jobs)."""
    todo = [a for a in arms if variant_step(exp.out / a) < exp.target]
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, exp.jobs))

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


@dataclass(frozen=True)
class Inputs:
    """What every arm is read against: the three splits, the teacher's target and the log-mels, per split."""

    # fit: the training corpus; valid: its validation split; test: EVAL_SUITE
    splits: dict[str, list[Path]]
    target_sha256: str  # the processed target's statistics, fitted on the fit split
    target: dict[str, list]  # per split, per file: the processed teacher target [frames, dim]
    mels: dict[str, list]  # per split, per file: log-mel [frames, 80], computed once and shared by every arm


def read_inputs(exp: Experiment) -> Inputs:
    from hybridcodec import measure
    from hybridcodec import target as target_mod
    from hybridcodec.teachers import TeacherSpec

    splits = {
        "fit": measure.utterances(str(exp.data)),
        "valid": measure.utterances(str(exp.valid)),
        "test": measure.utterances(EVAL_SUITE),
    }
    raw = {k: measure.raw_features(TeacherSpec(name=TEACHER), f) for k, f in splits.items()}
    stats = target_mod.fit(raw["fit"], kind="depositioned", frame_rate=measure.FRAME_RATE)
    return Inputs(
        splits=splits,
        target_sha256=target_mod.make_target(stats, frame_rate=measure.FRAME_RATE).sha256(),
        target={k: measure.processed(v, stats, measure.FRAME_RATE) for k, v in raw.items()},
        mels={k: measure.mel_targets(f, measure.FRAME_RATE) for k, f in splits.items()},
    )


def measure_arm(exp: Experiment, arm: str, inputs: Inputs) -> dict:
    """The arm's RVQ-1 probes (teacher and log-mel, on the validation split and the test suite) and mel losses,
    measured once per model file and kept in OUT/eval/<arm>/measures.json."""
    from hybridcodec import measure
    from hybridcodec.inference import LoadedModel

    path = arm_model(exp, arm)
    cached = exp.out / "eval" / arm / "measures.json"
    sha = sha256_file(path)
    measured = json.loads(cached.read_text()) if cached.is_file() else {}
    if measured.get("model_sha256") == sha and measured.get("version") == MEASURES_VERSION:
        return measured
    print(f"measuring arm {arm}", file=sys.stderr)
    codec = LoadedModel.load(path)
    codes = {k: measure.encode_files(codec.encode, codec.sample_rate, f) for k, f in inputs.splits.items()}
    target, mels = inputs.target, inputs.mels
    found = measure.probe_codec(
        arm, 1, codec.codebook_sizes, (codes["fit"], target["fit"], mels["fit"]),
        {split: (codes[split], target[split], mels[split]) for split in ("valid", "test")},
    )  # fmt: skip
    measured = {
        "version": MEASURES_VERSION,
        "model": str(path),
        "model_sha256": sha,
        "probe": {
            p.split: {
                "teacher_r2": p.teacher_r2,
                "logmel_r2": p.logmel_r2,
                "frames": p.held_frames,
                "teacher_sse": p.teacher_sse,
                "teacher_sst": p.teacher_sst,
            }
            for p in found
        },
        "mel_loss": mel_losses(path, inputs.splits["test"]),
    }
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(measured, indent=2) + "\n")
    return measured


def read_arms(exp: Experiment, arms: tuple[str, ...], inputs: Inputs) -> tuple[list, dict[str, dict]]:
    """Per-item WER rows of `arms` and each arm's reading (measures plus its RVQ-1 and full-depth WER)."""
    from hybridbench.report.aggregate import item_frame, summarize

    rows, read = [], {}
    for arm in arms:
        read[arm] = dict(measure_arm(exp, arm, inputs))
        rows += wer_rows(exp, arm)
    summary = summarize(item_frame(rows), [])
    for arm in arms:
        for depth in (1, 12):
            hit = summary[(summary["codec"] == arm) & (summary["depth"] == depth)].iloc[0]
            read[arm][f"wer{depth}"] = {k: float(hit[k]) for k in ("wer", "wer_low", "wer_high")} | {
                "items": int(hit["items"])
            }
    return rows, read


def choose_form(arms: dict[str, dict]) -> str | None:
    """The loss form whose arm's RVQ-1 codes best predict the teacher on the validation split (never the test)."""
    return max(
        (a for a in FORM_ARMS if a in arms),
        key=lambda a: arms[a]["probe"]["valid"]["teacher_r2"],
        default=None,
    )


def wer_pairs_wanted(chosen: str | None) -> list[tuple[str, str]]:
    """The (A, B) arms whose WER the page compares item by item, at depth 1 and 12."""
    pairs = [(chosen, "no-distillation"), ("raw-target", "no-distillation"), (chosen, "raw-target")]
    return [(a, b) for a, b in [*pairs, ("no-distillation", START)] if a is not None]


def probe_pairs_wanted(chosen: str | None) -> list[tuple[str, str]]:
    """The (A, B) arms whose RVQ-1 probe R2 on the test suite the page compares utterance by utterance."""
    return [p for p in wer_pairs_wanted(chosen) if START not in p]


def wer_pair(rows: list, a: str, b: str, depth: int) -> dict:
    from hybridbench.comparison import compare_rows

    c = compare_rows(rows, a=a, b=b, depth=depth, suite=EVAL_SUITE, metric="wer")
    r = c.result
    return {"a": a, "b": b, "depth": depth, "difference": r.difference, "low": r.low, "high": r.high,
            "p": r.p_value, "pairs": c.pairs}  # fmt: skip


def probe_pair(arms: dict[str, dict], a: str, b: str) -> dict:
    from hybridcodec.measure import paired_r2_difference

    pa, pb = arms[a]["probe"]["test"], arms[b]["probe"]["test"]
    d = paired_r2_difference(pa["teacher_sse"], pa["teacher_sst"], pb["teacher_sse"], pb["teacher_sst"])
    return {"a": a, "b": b, **d}


def generation(command: str) -> dict[str, str]:
    """When, at which commit and on which CPU a reading was made, and the command that made it."""
    from hybridbench.provenance import git_short
    from hybridbench.timing import cpu_name

    return {"date": time.strftime("%Y-%m-%d"), "git": git_short(), "cpu": cpu_name(), "command": command}


def command_line(
    exp: Experiment, arms: tuple[str, ...], *, add: bool = False, threads: int | None = None
) -> str:
    """The `minireplication settle` command that trains and reads `arms` as `exp` does."""
    text = f"minireplication settle --out {exp.out} --arms {','.join(a for a in arms if a != START)}"
    if add:
        text += " --add"
    if exp.jobs != Experiment.jobs:
        text += f" --jobs {exp.jobs}"
    if exp.init_from != Experiment.init_from:
        text += f" --init-from {exp.init_from}"
    return text + (f" --threads {threads}" if threads else "")


def _experiment_record(exp: Experiment) -> dict:
    return {k: str(v) for k, v in vars(exp).items()} | {"start_step": exp.start, "target_step": exp.target}


def evaluate(exp: Experiment, arms: tuple[str, ...] = (START, *ARMS), *, command: str = "") -> dict:
    """Every measurement of the page, written to OUT/results.json (rows stay in OUT/eval/<arm>/)."""
    from hybridcodec import measure
    from hybridcodec.teachers import TeacherSpec

    inputs = read_inputs(exp)
    splits = inputs.splits
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
    rows, arms_out = read_arms(exp, arms, inputs)
    chosen = choose_form(arms_out)
    pairs = [
        wer_pair(rows, a, b, depth)
        for a, b in wer_pairs_wanted(chosen)
        if a in arms_out and b in arms_out
        for depth in (1, 12)
    ]
    probe_pairs = [
        probe_pair(arms_out, a, b) for a, b in probe_pairs_wanted(chosen) if a in arms_out and b in arms_out
    ]
    results = {
        "probe_pairs": probe_pairs,
        "experiment": _experiment_record(exp),
        "generated": generation(command or command_line(exp, arms)),
        "teacher": dataclasses.asdict(spec),
        "target_stats_sha256": inputs.target_sha256,
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


# ---- adding arms to published results ---------------------------------------------------------------------------
# What a later reading is checked against: the shipped start model, read again beside the added arms.
START_CHECK = {
    ("probe", "test", "teacher_r2"): "RVQ-1 probe R2: teacher",
    ("probe", "test", "logmel_r2"): "RVQ-1 probe R2: log-mel",
    ("probe", "valid", "teacher_r2"): "teacher R2 (validation split)",
    ("mel_loss", "depth1"): "mel loss @1",
    ("mel_loss", "full"): "mel loss @12",
    ("wer1", "wer"): "RVQ-1 WER",
    ("wer12", "wer"): "full WER",
}


def _at(reading: dict, path: tuple[str, ...]) -> float:
    for key in path:
        reading = reading[key]
    return reading


def published_generation(page_text: str) -> dict[str, str] | None:
    """The generation record of a page written before results held one, read from its "Regenerate:" line."""
    import re

    found = re.search(
        r"Regenerate: `(?P<command>[^`]+)`.*?Generated (?P<date>\S+) at git (?P<git>.+?) on (?P<cpu>.+?) \(CPU\)",
        page_text,
    )
    return {k: found[k] for k in ("date", "git", "cpu", "command")} if found else None


def load_published(page: Path) -> dict:
    """The results beside a published page (its .json), with the page's generation record if they lack one."""
    data = page.with_suffix(".json")
    if not data.is_file():
        raise ReplicationError(
            f"no published results at {data}", "read every arm first: minireplication settle"
        )
    published = json.loads(data.read_text())
    if "generated" not in published and page.is_file():
        published["generated"] = published_generation(page.read_text())
    return published


def check_addable(published: dict, arms: tuple[str, ...], start_model: Path) -> None:
    """Arms can be added to published results that hold the control, only arms they do not hold yet (the
    published pairs of an arm read again would go stale beside its new reading), and only from the start model
    the published arms were trained from (once the shipped minis are replaced, an added arm would start
    elsewhere and its differences with the published arms would measure the start, not the arm)."""
    published_sha = published["arms"].get(START, {}).get("model_sha256")
    start_sha = sha256_file(start_model) if published_sha and start_model.is_file() else published_sha
    if start_sha != published_sha:
        raise ReplicationError(
            f"{start_model} is not the start model of the published arms (sha256 {start_sha[:12]}, "
            f"theirs {published_sha[:12]}): an arm added from it would differ from them by its start",
            "read every arm again from the new start (minireplication settle --out A_NEW_FOLDER), or add arms "
            "from the published start: --init-from a folder holding its dac.safetensors (git show of the commit "
            "the page was generated at)",
        )
    if "no-distillation" not in published["arms"]:
        raise ReplicationError(
            "the published results hold no control arm", "read every arm: minireplication settle"
        )
    again = [a for a in arms if a in published["arms"]]
    if again:
        raise ReplicationError(
            f"{', '.join(again)} already in the published results",
            "read every arm again: minireplication settle",
        )


def add_arms(exp: Experiment, arms: tuple[str, ...], published: dict, *, command: str) -> dict:
    """`published` results with `arms` read now and added, the loss form chosen again among all form arms.

    The published arms' model files and per-item rows need not exist: their readings, pairs and per-utterance
    probe errors come from `published`. The shipped start model is read again beside the added arms, and its
    reading of today kept next to the published one, so a reader sees whether the two readings agree. A WER pair
    that needs per-item rows of an arm not read now (the published data keep only its totals) is listed as
    unavailable, never estimated; probe pairs need only the per-utterance errors, which the data keep.
    """
    check_addable(published, arms, arm_model(exp, START))
    inputs = read_inputs(exp)
    rows, read = read_arms(exp, (START, *arms), inputs)
    merged = {
        a: read[a] if a in arms else published["arms"][a]
        for a in (START, *ARMS)
        if a in arms or a in published["arms"]
    }
    chosen = choose_form(merged)
    # Only pairs with an added arm are new: the published ones stay as published.
    new_pairs = [
        (a, b)
        for a, b in wer_pairs_wanted(chosen)
        if (a in arms or b in arms) and a in merged and b in merged
    ]
    pairs, unavailable = list(published["pairs"]), []
    for a, b in new_pairs:
        for depth in (1, 12):
            if a in read and b in read:  # per-item rows of both: read now
                pairs.append(wer_pair(rows, a, b, depth))
            else:
                unavailable.append({"a": a, "b": b, "depth": depth})
    probe_pairs = list(published.get("probe_pairs", []))
    probe_pairs += [probe_pair(merged, a, b) for a, b in probe_pairs_wanted(chosen) if (a, b) in new_pairs]
    addition = {
        "arms": list(arms),
        "generated": generation(command),
        "experiment": _experiment_record(exp),
        "corpus_manifest_sha256": sha256_file(exp.data),
        "target_stats_sha256": inputs.target_sha256,
        "start_reread": {
            ".".join(path): {"published": _at(published["arms"][START], path), "now": _at(read[START], path)}
            for path in START_CHECK
        },
        "wer_pairs_unavailable": unavailable,
        "chosen_form_arm_before": published["chosen_form_arm"],
    }
    results = published | {
        "arms": merged,
        "chosen_form_arm": chosen,
        "pairs": pairs,
        "probe_pairs": probe_pairs,
        "added": [*published.get("added", []), addition],
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
    if chosen is not None and (chosen, "no-distillation", 1) not in pair:
        # Chosen among arms added later: the control's per-item rows, which the pairs need, were not kept.
        probe = {(p["a"], p["b"]): p for p in results.get("probe_pairs", [])}.get((chosen, "no-distillation"))
        lines.append(
            f"{LABELS[chosen]} (the chosen form) has no paired WER difference with (i): the published data keep (i)'s "
            "totals, not its per-item rows"
            + (
                f"; its RVQ-1 probe R2 against (i): {probe['difference']:+.3f} [{probe['low']:+.3f}, {probe['high']:+.3f}]"
                if probe
                else ""
            )
            + ". No verdict by the issue's rule until every arm is read again (`make settle`)."
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


def _regenerate(results: dict, runs: Path) -> str:
    """How the page's numbers came about: the first reading's command, then each addition's, with when and where."""
    arms = [a for a in results["arms"] if a != START]
    first = results.get("generated") or generation(
        f"minireplication settle --out {runs} --arms {','.join(arms)}"
    )
    steps = [first, *(a["generated"] for a in results.get("added", []))]
    return "Regenerate: " + ", then ".join(
        f"`{g['command']}` ({'generated' if i == 0 else 'added'} {g['date']} at git {g['git']} on {g['cpu']} (CPU))"
        for i, g in enumerate(steps)
    )


def _added_section(results: dict) -> list[str]:
    """Arms read after the page was first made: the start model read again beside them, and what differs."""
    from hybridbench.report.tables import markdown_table

    lines = []
    for added in results.get("added", []):
        g, names = added["generated"], ", ".join(LABELS.get(a, a) for a in added["arms"])
        labels = {".".join(path): label for path, label in START_CHECK.items()}
        rows = [
            [
                labels.get(key, key),
                f"{v['published']:.4f}",
                f"{v['now']:.4f}",
                f"{v['now'] - v['published']:+.4f}",
            ]
            for key, v in added["start_reread"].items()
        ]
        same_corpus = added["corpus_manifest_sha256"][:12] in results["teacher_check"]["fit"]
        same_target = added["target_stats_sha256"] == results["target_stats_sha256"]
        lines += [
            f"### Added {g['date']}: {names}",
            "",
            f"Read at git {g['git']} (`{g['command']}`), with the recipe, steps, seed and re-warm of the arms above, "
            "after their run folders were gone: the published arms' readings, pairs and per-utterance probe errors "
            "come from the published data, and the shipped start model is read again beside the added arm(s) to "
            "show how today's reading compares with the published one:",
            "",
            markdown_table(["start model: measure", "published", "read again", "difference"], rows),
            "",
            f"- Training corpus: manifest {added['corpus_manifest_sha256'][:12]}"
            + (
                " (the published build)."
                if same_corpus
                else f", not the published {results['teacher_check']['fit'].rsplit(' ', 1)[-1]}: the same sentences, "
                "voices and file names, but the synthetic voices render other bytes on another machine "
                "(minireplication.corpus), so the added arm trained, its probes were fitted and its validation-split "
                "R2 was read on another build (the start model's rows above show what that alone moves)."
            ),
            "- Processed-target statistics: "
            + (
                "the published ones (same sha256)."
                if same_target
                else f"sha256 {added['target_stats_sha256'][:12]}, not the published "
                f"{results['target_stats_sha256'][:12]} (fitted on this build)."
            ),
            f"- Loss form chosen before: {LABELS.get(added['chosen_form_arm_before'])}; now: "
            f"{LABELS.get(results['chosen_form_arm'])}"
            + (
                " (unchanged)"
                if added["chosen_form_arm_before"] == results["chosen_form_arm"]
                else " (CHANGED)"
            )
            + ", by the teacher R2 of RVQ-1 on the validation split: "
            + ", ".join(
                f"{arm.removeprefix('new-target-')} {results['arms'][arm]['probe']['valid']['teacher_r2']:.3f}"
                for arm in FORM_ARMS
                if arm in results["arms"]
            )
            + ".",
        ]
        missing = added.get("wer_pairs_unavailable", [])
        if missing:
            lines.append(
                "- WER pairs not made (they need per-item rows of an arm that the published data keep only as "
                "totals): "
                + "; ".join(
                    f"{LABELS.get(m['a'], m['a'])} − {LABELS.get(m['b'], m['b'])} at depth {m['depth']}"
                    for m in missing
                )
                + "."
            )
        lines.append("")
    return lines


def write_page(results: dict, *, page: Path, reports: Path, runs: Path, replot: bool = True) -> Path:
    """leaderboards/distillation-experiment.md (and its validation-curve figure) from results.json.

    `replot=False` keeps the published figure as it is: when arms are added, the other arms' validation logs
    may be gone, and a figure redrawn without them would lose them."""
    from hybridbench.report.tables import format_pct, markdown_table

    exp, arms, chosen = results["experiment"], results["arms"], results["chosen_form_arm"]
    added = [a for addition in results.get("added", []) for a in addition["arms"]]
    figure_path = reports / "validation-curves.png"
    figure = (
        plot_validation(runs, figure_path) if replot else (figure_path if figure_path.is_file() else None)
    )
    check_rows = [
        [r["target"], f"{100 * r['position_share']:.1f} %", f"{100 * r['top1_pc']:.1f} %",
         f"{100 * r['top8_pc']:.1f} %", f"{100 * r['top7_dims']:.1f} %", f"{r['logmel_r2']:.3f}"]
        for r in results["teacher_check"]["rows"]
    ]  # fmt: skip
    arm_rows = []
    for arm, a in arms.items():
        w1, w12 = a["wer1"], a["wer12"]
        arm_rows.append(
            [LABELS.get(arm, arm) + (" — chosen form" if arm == chosen else "") + (" (added, below)" if arm in added else ""),
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
        f"{_regenerate(results, runs)}; `make settle` trains and reads every arm. Every arm is warm-started "
        f"from the shipped `dac` mini at step "
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
            "Held-out losses during training (the corpus's validation split, 64 fixed crops, every 250 steps)"
            + (f"; the arms added later are not drawn ({', '.join(added)})" if added and not replot else "")
            + ":",
            "",
            f"![validation curves]({Path('..') / figure})",
            "",
        ]
    if added:
        text += ["## Arms added later", "", *_added_section(results)]
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
        f"- Loss forms compared: {', '.join(a.removeprefix('new-target-') for a in arms if a in FORM_ARMS)}"
        + (
            f" (not yet: {', '.join(untried)}; `minireplication settle --arms ARM --add` adds one)."
            if (untried := [f for f in DISTILLATION_FORMS if f"new-target-{f}" not in arms])
            else f" (every form implemented: {', '.join(DISTILLATION_FORMS)})."
        ),
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
