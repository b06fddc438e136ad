"""`minireplication leaderboard`: evaluate the four shipped mini models and write leaderboards/mini-replication.md.

One command regenerates the whole file: it runs the evaluation in a run folder — the four `*-mini` codecs at
every depth plus the reference rows (identity, Opus, AMR-NB, G.722) on every held-out suite present, Whisper
base for every language, PESQ-WB, STOI, speaker similarity, DNSMOS and RTF — then probes what each mini's RVQ-1
carries (`mechanism.py`), and writes the Markdown with the paper's claims and a verdict for each. The signal
metrics are computed where the tables show them: at each mini's full depth (ASR runs at every depth) and at
every operating point of the reference codecs, a third of the rows; DNSMOS alone costs seconds a row on a small
CPU. Rows already in the run folder's store are reused (a rerun only rewrites the file), and a rerun after
shipping new checkpoints evaluates only those: rows and probes are keyed by the weights' hash, and only the
rows of this invocation's keys enter the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from hybridbench.errors import HybridbenchError
from hybridbench.run_plan import RunConfig, parse_limit
from hybridbench.runner import Runner
from hybridbench.store import ResultStore
from minireplication.claims import MINIS, SUITE_ROLES
from minireplication.curve_gaps import gaps_section
from minireplication.paper_speed import measure_paper_speed
from minireplication.replicate import HISTORY
from minireplication.replicate import METRICS as METRICS_CSV
from minireplication.speed_claim import ClaimTiming, speed_claim

METRICS = ["pesq-wb", "stoi", "speaker-sim-resemblyzer", "dnsmos-ovrl"]
REFERENCE_CODECS = ["opus", "amr-nb", "g722"]
ASR = "whisper-base"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard", help="evaluate the shipped mini models and write leaderboards/mini-replication.md"
    )
    p.add_argument(
        "--run", type=Path, default=Path("runs/mini-replication-eval"), help="evaluation run folder"
    )
    p.add_argument("--out", type=Path, default=Path("leaderboards/mini-replication.md"))
    p.add_argument("--reports", type=Path, default=Path("reports/mini-replication"))
    p.add_argument(
        "--limit",
        help="first N items of each suite, or per suite: asterisk-en-test=30,*=10 (default: all items)",
    )
    p.add_argument(
        "--suites", default=",".join(SUITE_ROLES), help="held-out suites to evaluate (default: %(default)s)"
    )
    p.add_argument(
        "--metrics",
        default=",".join(METRICS),
        help="signal metrics, computed at the minis' full depth and every reference operating point (default: "
        "%(default)s; DNSMOS costs ~4 s per scored row on 2 CPU cores: short clips are repeated to 16 s and "
        "scored in seven 9 s windows)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--depths",
        help="comma-separated depths of the minis to evaluate, their full depth always added (default: all; the "
        "verdicts need 1 and the full depth)",
    )
    p.add_argument(
        "--no-paper-speed",
        action="store_true",
        help="skip the paper-size speed measurement that decides the speed claim (then the page says so)",
    )
    p.add_argument(
        "--no-probe",
        action="store_true",
        help="skip the RVQ-1 probes (what RVQ-1 carries; they need the replication corpus and the teacher's "
        "features, built and cached on first use)",
    )
    p.set_defaults(func=leaderboard)


def _training_facts() -> list[dict]:
    from hybridbench.codecs import CODECS
    from hybridcodec.checkpoint import read_metadata
    from hybridcodec.config import OptimConfig, from_dict

    facts = []
    for name in MINIS:
        cls = CODECS.get(name)
        status = cls.weights_status(None)
        if not status.available:
            raise HybridbenchError(f"{name} has no shipped checkpoint", status.hint)
        info = cls.describe(None)
        meta = read_metadata(status.location)
        corpus = json.loads(meta.get("corpus", "{}"))
        recipe = json.loads(meta.get("recipe", "{}"))
        train = json.loads(meta["train_config"])
        teacher = json.loads(meta["teacher"]) if meta.get("teacher") else None
        # Read through OptimConfig: older checkpoints keep the rate at the top of `optim`, newer ones in its
        # `schedule`.
        schedule = from_dict(OptimConfig, train["optim"]).schedule
        facts.append(
            {
                "codec": name,
                "variant": meta["variant"],
                # How the distilled target was made (None: the variant distils nothing); checkpoints from before
                # the target was processed record none and distilled the raw features.
                "target": teacher.get("target", "raw") if teacher else None,
                "parameters": info.parameters,
                "step": meta.get("step"),
                "device": _trained_where(meta),
                "time": _training_time(
                    Path(status.location).parent / HISTORY / METRICS_CSV.format(variant=meta["variant"]),
                    train["log_every"],
                    int(meta.get("step", 0)),
                ),
                "held_out": _held_out(
                    Path(status.location).parent / HISTORY, meta["variant"], int(meta.get("step", 0))
                ),
                "corpus": f"{corpus.get('files')} files, {corpus.get('hours')} h, {_corpus_builds(meta)}",
                "recipe": f"batch {train['batch_size']} x {train['segment_seconds']} s, lr {schedule.lr}"
                f"{_anneal_note(train['optim'])}, seed {train['seed']}, GAN from step "
                f"{train['adversarial_start']}, {_distillation_note(meta, train, recipe)}, fp16 weights",
            }
        )
    return facts


def _distillation_note(meta: dict, train: dict, recipe: dict) -> str:
    """The teacher, how its features became the target, and the loss form (none for a variant without one)."""
    teacher = json.loads(meta["teacher"]) if meta.get("teacher") else None
    if teacher is None:
        return f"no distillation (recipe teacher {recipe.get('teacher', '?')} unused)"
    form = train["loss"].get("distillation_form", "mse")
    return f"teacher {teacher['name']}, {teacher.get('target', 'raw')} target, {form} loss"


def _anneal_note(optim: dict) -> str:
    from hybridcodec.config import OptimConfig, from_dict

    text = from_dict(OptimConfig, optim).schedule.describe_anneals()
    return f" {text}" if text else ""


def _last_curve_point(curves_folder: Path) -> str | None:
    """The HybridCodec mini's full-depth WER at the learning curve's last step: more items than the table above."""
    from minireplication.curves import curve_number, read_curves

    rows = [
        r
        for r in read_curves(curves_folder)
        if r["variant"] == "hybrid" and curve_number(r, "wer") is not None
    ]
    if not rows:
        return None
    last = max(rows, key=lambda r: (int(r["step"]), int(r["depth"])))
    wer, low, high = (100 * float(last[k] or last["wer"]) for k in ("wer", "wer_low", "wer_high"))
    return (
        f"The learning curve's evaluation at step {last['step']} (first {last['items']} items of {last['suite']}, "
        f"{last['asr']}, training checkpoint in fp32) puts the HybridCodec mini's full-depth WER at {wer:.1f} % "
        f"[{low:.1f}, {high:.1f}]."
    )


def _held_out(history: Path, variant: str, step: int) -> str:
    """The held-out losses at the shipped step, from the held-out log shipped beside the checkpoint (or, for a
    step whose log stayed behind, from `minireplication revalidate`'s row, said so): the mel loss at full depth
    and from RVQ-1 alone, and the semantic decoder's teacher R2 where the variant distils."""
    from minireplication.replicate import SHIPPED_VALID_LOG, VALID_LOG, VARIANT_LOGS
    from minireplication.revalidate import read_rows

    for name, how in ((VALID_LOG, ""), (SHIPPED_VALID_LOG, " (shipped fp16 weights, scored again)")):
        row = read_rows(history / VARIANT_LOGS[name].format(variant=variant)).get(step)
        if row is None:
            continue
        text = f"mel {float(row['valid/mel']):.3f} (RVQ-1 alone {float(row['valid/mel_depth1']):.3f})"
        if row.get("valid/distillation_r2"):
            text += f", teacher R2 {float(row['valid/distillation_r2']):.3f}"
        return text + how
    return "not logged"


def _training_time(history: Path, log_every: int, step: int) -> str:
    """'≈ 2.1 h (steps 1751-10000; 1-1750 not logged)' from the training log shipped beside the checkpoint."""
    from hybridcodec.logs import training_time

    found = training_time(history, log_every)
    if found is None:
        return "not logged"
    first, last, seconds = found
    gaps = [f"{a}-{b}" for a, b in ((1, first - 1), (last + 1, step)) if b >= a]
    return f"≈ {seconds / 3600:.1f} h (steps {first}-{last}" + (
        f"; {', '.join(gaps)} not logged)" if gaps else ")"
    )


def _chain_spans(meta: dict[str, str]) -> list[tuple[int, int, dict, dict | None]]:
    """The step spans of a checkpoint's warm-start chain (see train.py), oldest first: (first step, last step,
    the record of how that span was trained (a warm-start record, or `meta` for the newest span), the warm start
    that began it (None for the first span))."""
    from hybridcodec.checkpoint import warm_start_chain

    spans, end, record = [], int(meta.get("step", 0)), meta
    for warm in warm_start_chain(meta):
        spans.append((warm["step"] + 1, end, record, warm))
        end, record = warm["step"], warm
    spans.append((1, end, record, None))
    return spans[::-1]


def _trained_where(meta: dict[str, str]) -> str:
    """'cpu (1 thread)', or with warm starts 'steps 1-1750: cpu (1 thread); 1751-4000: cpu (1 thread)' (and a
    warm start that moved to another semantic decoder says so in its span)."""
    spans = _chain_spans(meta)
    if len(spans) == 1:
        return meta.get("device", "not recorded")
    parts = []
    for first, last, record, began in spans:
        changed = (began or {}).get("changed", {}).get("semantic_decoder_layers")
        moved = f", semantic decoder from {changed[0]} to {changed[1]} ConvNeXt blocks" if changed else ""
        parts.append(f"{first}-{last}: {record.get('device') or 'not recorded'}{moved}")
    return "steps " + "; ".join(parts)


def _corpus_builds(meta: dict[str, str]) -> str:
    """'manifest 35d34fd5fa2e', or, when a warm start went on with another build of the corpus (its synthetic
    voices re-rendered on another machine, see corpus.py), each build's manifest with its steps."""

    def short(sha: str | None) -> str:
        return str(sha)[:12] if sha else "not recorded"

    merged: list[list] = []
    for first, last, record, _ in _chain_spans(meta):
        sha = record.get("corpus_manifest_sha256")
        if merged and merged[-1][2] == sha:
            merged[-1][1] = last
        else:
            merged.append([first, last, sha])
    if len(merged) == 1:
        return f"manifest {short(merged[0][2])}"
    return "manifests " + ", ".join(f"{short(sha)} (steps {a}-{b})" for a, b, sha in merged)


def _probe_section(run: Path, device: str) -> str:
    """What RVQ-1 carries in each shipped mini, probed on the replication corpus as built on this machine."""
    from hybridbench.hashing import sha256_file
    from hybridcodec.measure import utterances
    from minireplication import corpus as corpus_mod
    from minireplication.claims import MAIN_SUITE
    from minireplication.mechanism import measure_probes, probe_section

    corpus = corpus_mod.build()
    fit = utterances(str(corpus.manifest))
    probes = measure_probes(
        list(MINIS), fit=fit, held=utterances(MAIN_SUITE), folder=run / "probe", device=device
    )
    label = f"the replication corpus ({len(fit)} files, manifest {sha256_file(corpus.manifest)[:12]} as built here)"
    return probe_section(probes, fit_label=label)


def _shipped_folder() -> Path:
    """Where the evaluated minis' checkpoints (and their history) are shipped."""
    from hybridbench.codecs import CODECS
    from minireplication.claims import HYBRID

    return Path(CODECS.get(HYBRID).weights_status(None).location).parent


def _draw_curves(shipped: Path, reports: Path) -> Path | None:
    """The learning curves of the shipped checkpoints, into `reports`: drawn from the history shipped beside
    them, never from a run folder, which may be on another machine or have trained past them. The history is
    laid out as the run folder it came from, so the training's own plot draws it."""
    from hybridcodec.checkpoint import MODEL_FILE
    from hybridcodec.config import VARIANTS
    from minireplication.curves import CURVES_CSV, plot_curves
    from minireplication.replicate import VARIANT_LOGS

    history = shipped / HISTORY
    if not (history / CURVES_CSV).is_file():
        return None
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        view = Path(tmp)
        shutil.copyfile(history / CURVES_CSV, view / CURVES_CSV)
        for variant in VARIANTS:
            (view / variant).mkdir()
            for name, shipped_name in VARIANT_LOGS.items():
                if (history / shipped_name.format(variant=variant)).is_file():
                    shutil.copyfile(history / shipped_name.format(variant=variant), view / variant / name)
            if (shipped / f"{variant}.safetensors").is_file():  # its metadata: warm starts and anneals
                (view / variant / MODEL_FILE).symlink_to((shipped / f"{variant}.safetensors").resolve())
        png = plot_curves(view)
        shutil.copyfile(view / CURVES_CSV, reports / CURVES_CSV)
        if png is None:
            return None
        shutil.copyfile(png, reports / png.name)
        return reports / png.name


# The speed claim's measurements: 5 timed calls of each mini (a benchmark run takes fewer, see preset.py), and
# 5 interleaved rounds of the paper-size models (paper_speed.py), which decide the verdict.
SPEED = ClaimTiming(seconds=4.0, repeats=5, warmup=2)
PAPER_SPEED_SECONDS, PAPER_SPEED_REPEATS = 4.0, 5


def _parse_depths(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        depths = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise HybridbenchError(
            f"invalid --depths {value!r}", "use comma-separated integers, e.g. 1,2,4,12"
        ) from None
    if 1 not in depths:
        raise HybridbenchError(f"--depths {value} leaves out depth 1", "the RVQ-1 verdicts need depth 1")
    return depths


def leaderboard(args: argparse.Namespace) -> int:
    from hybridbench.provenance import git_short
    from hybridbench.timing import device_name
    from minireplication.claims import render

    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = set(suites) - set(SUITE_ROLES)
    if unknown or not suites:
        raise HybridbenchError(
            f"--suites {args.suites!r}: the leaderboard's suites are {', '.join(SUITE_ROLES)}"
        )
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    depths = _parse_depths(args.depths)
    config = RunConfig(
        codecs=[*MINIS, *REFERENCE_CODECS], suites=suites, out=args.run, depths=depths, asr=ASR,
        limit=parse_limit(args.limit), device=args.device, metrics=metrics, skip_unavailable=True,
        timing_repeats=1, signal_full_depth_only=list(MINIS), include_full_depth=depths is not None,
    )  # fmt: skip
    runner = Runner(config)
    device = runner.device
    try:
        summary = runner.run()
    except HybridbenchError as exc:
        if "none of the requested suites has data here" not in str(exc):
            raise
        raise HybridbenchError(
            "no suite of the leaderboard has data here", "hybridbench data prepare asterisk-en"
        ) from None
    for suite, hint in summary.unavailable_suites.items():
        print(f"skipped (no data here): {suite} ({hint})")
    with ResultStore(args.run / "results.sqlite") as store:
        rows = list(store.rows(summary.keys))
    training = _training_facts()
    curves = _draw_curves(_shipped_folder(), args.reports)
    items = {}
    for r in rows:
        items.setdefault(r.suite, set()).add(r.item_id)
    context = {
        "command": "minireplication leaderboard"
        + (f" --suites {args.suites}" if suites != list(SUITE_ROLES) else "")
        + (f" --limit '{args.limit}'" if args.limit else "")
        + (f" --metrics {','.join(metrics)}" if metrics != METRICS else "")
        + (f" --depths {args.depths}" if depths is not None else "")
        + (" --no-paper-speed" if args.no_paper_speed else "")
        + (" --no-probe" if args.no_probe else ""),
        "date": time.strftime("%Y-%m-%d"),
        "git": git_short(),
        "device": device_name(device),
        "run": str(args.run),
        "asr": f"{ASR} for every language; RTF: batch 1, fp32, one timed run per call after warm-up",
        "items": ", ".join(f"{s} {len(v)}" for s, v in items.items()),
    }
    context["curve"] = _last_curve_point(args.reports)
    context["gaps"] = gaps_section(args.reports)
    if not args.no_probe:
        context["probe"] = _probe_section(args.run, device)
    context["speed"], context["speed_note"] = speed_claim(device, summary.unavailable, SPEED)
    if not args.no_paper_speed:
        context["paper_speed"] = measure_paper_speed(
            seconds=PAPER_SPEED_SECONDS, repeats=PAPER_SPEED_REPEATS, device=device
        )
    curves_rel = os.path.relpath(curves, args.out.parent) if curves is not None else None
    text = render(rows, metrics=metrics, training=training, context=context, curves_png=curves_rel)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nwritten: {args.out}")
    return 0
