"""`hybridcodec train | teacher-check | probe | encode | decode`: user mistakes end as one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybridbench.errors import HybridbenchError
from hybridcodec.config import PRESETS, VARIANTS, TrainConfig, preset
from hybridcodec.errors import HybridcodecError
from hybridcodec.nn.losses import DISTILLATION_FORMS
from hybridcodec.teachers import TARGETS, TEACHERS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridcodec", description="Train and run HybridCodec and its baselines."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train (or resume) a codec; torchrun-compatible for DDP")
    t.add_argument("--preset", choices=sorted(PRESETS), help="a new run's config (default: mini)")
    t.add_argument(
        "--config", type=Path, metavar="FILE",
        help="a new run's config as a TrainConfig JSON file (TrainConfig.to_json), instead of --preset and the "
        "options that set config fields",
    )  # fmt: skip
    t.add_argument(
        "--variant", choices=VARIANTS,
        help="default hybrid; with --init-from a dac model, dac-distill adds a fresh semantic head to distill",
    )  # fmt: skip
    t.add_argument(
        "--data", nargs="+", required=True, metavar="DIR_OR_MANIFEST", help="folders, manifests or files"
    )
    t.add_argument(
        "--valid", nargs="+", default=[], metavar="DIR_OR_MANIFEST", help="held-out validation audio"
    )
    t.add_argument(
        "--teacher", choices=TEACHERS, help="semantic teacher (needed by hybrid, dac-distill, dualcodec)"
    )
    t.add_argument("--teacher-source", default="", help="local folder or hub name for the teacher")
    t.add_argument(
        "--teacher-layer", type=int, help="w2v-bert-2.0 hidden_states index (default 17 = block 16)"
    )
    t.add_argument(
        "--teacher-stats", default="",
        help="mean/var .pt file (DualCodec's format) applied to the raw teacher features",
    )  # fmt: skip
    t.add_argument(
        "--teacher-target", choices=TARGETS,
        help="how raw teacher features become the target: standardized per dimension on the training corpus, "
        "depositioned (Whisper: window-position mean removed, then standardized), or raw "
        "(default: depositioned for whisper-base-encoder, standardized for w2v-bert-2.0)",
    )  # fmt: skip
    t.add_argument(
        "--distillation-form", choices=DISTILLATION_FORMS,
        help="distillation loss: mse (DualCodec), d-axis (SpeechTokenizer), cosine (default: the preset's, mse)",
    )  # fmt: skip
    t.add_argument("--steps", type=int, required=True, help="total number of updates")
    t.add_argument("--out", type=Path, required=True, help="run folder")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument(
        "--init-from", type=Path, metavar="MODEL",
        help="warm start a new run from this model file: its config, teacher and step; fresh optimizer state",
    )  # fmt: skip
    t.add_argument("--batch-size", type=int, help="per process (default: the preset's)")
    t.add_argument("--segment-seconds", type=float, help="crop length (default: the preset's)")
    t.add_argument("--lr", type=float, help="the schedule's base learning rate (default: the preset's)")
    t.add_argument(
        "--warmup", type=int, metavar="N", help="linear learning-rate warm-up over the first N updates"
    )
    t.add_argument("--seed", type=int)
    t.add_argument("--log-every", type=int)
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--adversarial-start", type=int, help="steps before the GAN losses switch on")
    t.add_argument("--device", help="cpu, cuda, cuda:1 (default: the local GPU, else cpu)")
    t.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    t.add_argument("--feature-cache", type=Path, help="where teacher features are cached")
    t.add_argument("--threads", type=int, help="torch CPU threads per process")
    t.add_argument(
        "--deterministic", action="store_true", help="torch.use_deterministic_algorithms (slower on GPU)"
    )
    t.add_argument("--no-progress", action="store_true")
    t.add_argument(
        "--semantic-head-layers", "--semantic-decoder-layers", type=int, metavar="N", dest="semantic_head_layers",
        help="ConvNeXt blocks of the training-only semantic head (hybrid, dac-distill; default: the preset's); "
        "with --init-from, the warm-started model gets a fresh one of N blocks",
    )  # fmt: skip
    add_anneal_args(t)

    tc = sub.add_parser(
        "teacher-check",
        help="how learnable a teacher's target is: position share, concentration, log-mel probe ceiling",
    )
    tc.add_argument("--teacher", choices=TEACHERS, default="whisper-base-encoder")
    tc.add_argument("--teacher-source", default="")
    tc.add_argument(
        "--teacher-layer", type=int, action="append", dest="teacher_layers", metavar="K",
        help="also check this layer (repeatable; Whisper: the output of block K, read through whisper_layers)",
    )  # fmt: skip
    tc.add_argument("--teacher-stats", default="")
    tc.add_argument(
        "--fit", required=True, help="suite name, folder or manifest the statistics are fitted on"
    )
    tc.add_argument("--eval", required=True, help="held-out suite name, folder or manifest")
    tc.add_argument(
        "--fit-limit", type=int, metavar="N", help="fit on N files spread evenly over --fit (default: all)"
    )
    tc.add_argument(
        "--targets", default=",".join(TARGETS), help="target kinds to compare (default: %(default)s)"
    )
    tc.add_argument("--device", default="cpu")

    pr = sub.add_parser(
        "probe",
        help="held-out R2 of a ridge map from a codec's first k codebooks to a teacher's target and log-mel",
    )
    pr.add_argument("--codecs", required=True, help="registered codecs (comma-separated)")
    pr.add_argument("--weights", action="append", default=[], metavar="CODEC=PATH")
    pr.add_argument("--fit", required=True, help="suite name, folder or manifest the probe is fitted on")
    pr.add_argument("--eval", required=True, help="held-out suite name, folder or manifest")
    pr.add_argument("--depth", type=int, default=1, help="codebooks the probe reads (default: 1, RVQ-1)")
    pr.add_argument("--teacher", choices=TEACHERS, default="whisper-base-encoder")
    pr.add_argument("--teacher-target", choices=TARGETS, help="default: the teacher's default target")
    pr.add_argument("--device", default="cpu")

    e = sub.add_parser("encode", help="audio file -> codes (.npz)")
    e.add_argument("input", type=Path)
    e.add_argument("output", type=Path)
    e.add_argument("--checkpoint", required=True, help="model.safetensors or a run folder")
    e.add_argument("--device", default="cpu")

    d = sub.add_parser("decode", help="codes (.npz) -> audio (.wav)")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    d.add_argument("--checkpoint", required=True, help="model.safetensors or a run folder")
    d.add_argument("--depth", type=int, help="decode the first k codebooks (default: all in the file)")
    d.add_argument("--device", default="cpu")
    return parser


def add_anneal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--anneal-start", type=int, metavar="STEP",
        help="from this update on, the learning rate falls linearly to 0 over --anneal-steps (allowed when "
        "resuming; kept by the run from then on)",
    )  # fmt: skip
    p.add_argument("--anneal-steps", type=int, metavar="N", help="length of the anneal, in updates")
    p.add_argument(
        "--rewarm", action="store_true",
        help="once the run's anneal has finished: raise the learning rate back to its schedule and anneal again "
        "as --anneal-start/--anneal-steps say (a warm restart, recorded with the earlier anneal)",
    )  # fmt: skip


def anneal_option(args: argparse.Namespace) -> tuple[int, int] | None:
    if (args.anneal_start is None) != (args.anneal_steps is None):
        raise HybridcodecError("--anneal-start and --anneal-steps go together", "pass both, or neither")
    return None if args.anneal_start is None else (args.anneal_start, args.anneal_steps)


# TrainConfig's top-level fields that a train option of the same name sets.
TOP_LEVEL_OPTIONS = (
    "batch_size", "segment_seconds", "seed", "log_every", "sample_every", "checkpoint_every", "adversarial_start",
)  # fmt: skip


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _config_changes(args: argparse.Namespace) -> list[tuple[str, Callable[[TrainConfig], TrainConfig]]]:
    """Each option given that sets a field of a new run's config, with the change it makes."""
    rep = dataclasses.replace
    changes: list[tuple[str, Callable[[TrainConfig], TrainConfig]]] = [
        (_flag(name), lambda c, name=name: rep(c, **{name: getattr(args, name)}))
        for name in TOP_LEVEL_OPTIONS
        if getattr(args, name) is not None
    ]
    if args.variant:
        changes.append(("--variant", lambda c: rep(c, model=rep(c.model, variant=args.variant))))
    if args.distillation_form:
        form = args.distillation_form
        changes.append(("--distillation-form", lambda c: rep(c, loss=rep(c.loss, distillation_form=form))))
    if args.semantic_head_layers is not None:
        layers = args.semantic_head_layers
        changes.append(
            ("--semantic-head-layers", lambda c: rep(c, model=rep(c.model, semantic_head_layers=layers)))
        )
    for name in ("lr", "warmup"):
        if getattr(args, name) is not None:
            value = getattr(args, name)
            changes.append((_flag(name), lambda c, n=name, v=value: _with_schedule(c, **{n: v})))
    return changes


def _with_schedule(cfg: TrainConfig, **fields: Any) -> TrainConfig:
    optim = dataclasses.replace(cfg.optim, schedule=dataclasses.replace(cfg.optim.schedule, **fields))
    return dataclasses.replace(cfg, optim=optim)


def _refuse_stored_config_changes(args: argparse.Namespace) -> None:
    """A resumed or warm-started run keeps the config stored with its checkpoint."""
    if args.resume and (args.variant or args.teacher_target or args.distillation_form):
        raise HybridcodecError(
            "a resumed run keeps its variant, teacher target and distillation form",
            "drop --variant, --teacher-target and --distillation-form with --resume",
        )
    flag = "--resume" if args.resume else "--init-from"
    if args.config is not None:
        raise HybridcodecError(
            f"--config starts a new run; {flag} continues with the checkpoint's own stored config",
            "drop --config, or start a new run in another --out",
        )
    # The variant, distillation form and semantic head of a warm start are changes of its own (train.py).
    names = [*(n for n in TOP_LEVEL_OPTIONS if getattr(args, n) is not None)]
    names += [n for n in ("lr", "warmup") if getattr(args, n) is not None]
    if names:
        raise HybridcodecError(
            f"{flag} continues with the checkpoint's own stored config; {', '.join(map(_flag, names))} "
            "would change it",
            "drop those options, or start a new run in another --out",
        )


def _config_file(args: argparse.Namespace) -> TrainConfig:
    """The config of `--config`, refusing any option that would set it otherwise."""
    try:
        cfg = TrainConfig.from_json(Path(args.config).read_text())
    except (OSError, ValueError, TypeError) as exc:
        raise HybridcodecError(
            f"--config {args.config}: not a readable TrainConfig JSON file ({exc})"
        ) from exc
    contradicting = [flag for flag, change in _config_changes(args) if change(cfg) != cfg]
    contradicting += ["--preset"] if args.preset else []
    anneal = anneal_option(args)
    if (anneal is not None and anneal != cfg.optim.schedule.anneal) or args.rewarm:
        contradicting.append("--anneal-start/--anneal-steps/--rewarm")
    if args.teacher and cfg.model.teacher and args.teacher != cfg.model.teacher:
        contradicting.append("--teacher")
    if contradicting:
        raise HybridcodecError(
            f"--config {args.config} holds the run's config; {', '.join(contradicting)} would contradict it",
            "set those fields in the file, or drop the options",
        )
    return cfg


def _new_run_config(args: argparse.Namespace) -> TrainConfig:
    """A new run's config: the `--config` file, or the preset with the options that change it."""
    if args.config is not None:
        return _config_file(args)
    cfg = preset(args.preset or "mini", variant=args.variant or "hybrid")
    for _, change in _config_changes(args):
        cfg = change(cfg)
    return cfg


def _train(args: argparse.Namespace) -> None:
    import torch

    from hybridcodec.teachers import DEFAULT_TARGET, TeacherSpec
    from hybridcodec.train import RunOptions, train

    if args.threads:
        torch.set_num_threads(args.threads)
    stored = args.resume or args.init_from is not None  # the config comes from a checkpoint
    if stored:
        _refuse_stored_config_changes(args)
    layers = args.semantic_head_layers
    if layers is not None and (layers < 0 or args.resume):
        raise HybridcodecError(
            "--semantic-head-layers must be 0 or more, and a resumed run keeps its own",
            "drop it with --resume, or warm-start a new run with --init-from",
        )
    cfg = None if stored else _new_run_config(args)
    if args.steps < 1:
        raise HybridcodecError("--steps must be at least 1")
    teacher = None
    if args.teacher:
        teacher = TeacherSpec(
            name=args.teacher, source=args.teacher_source, layer=args.teacher_layer, stats=args.teacher_stats,
            target=args.teacher_target or DEFAULT_TARGET[args.teacher],
        )  # fmt: skip
    warm = args.init_from is not None
    options = RunOptions(
        out=args.out, data=tuple(args.data), steps=args.steps, teacher=teacher, resume=args.resume,
        device=args.device, precision=args.precision, feature_cache=args.feature_cache,
        deterministic=args.deterministic, progress=not args.no_progress, valid=tuple(args.valid),
        init_from=args.init_from, semantic_head_layers=layers if warm else None,
        anneal=anneal_option(args), rewarm=args.rewarm,
        variant=args.variant if warm else None, distillation_form=args.distillation_form if warm else None,
    )  # fmt: skip
    out = train(cfg, options)
    if os.environ.get("RANK", "0") == "0":
        print(f"checkpoint: {out / 'model.safetensors'}", file=sys.stderr)


def _teacher_check(args: argparse.Namespace) -> None:
    from hybridcodec import measure
    from hybridcodec.teachers import TeacherSpec

    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise HybridcodecError(f"unknown targets {unknown}", f"choose from {', '.join(TARGETS)}")
    fit, held = measure.utterances(args.fit), measure.utterances(args.eval)
    if args.fit_limit is not None:
        if args.fit_limit < 10:
            raise HybridcodecError(
                f"--fit-limit {args.fit_limit} is too few to fit statistics on", "use 10 or more"
            )
        fit = fit[:: max(1, len(fit) // args.fit_limit)][: args.fit_limit]
    layers = [None, *(args.teacher_layers or [])]
    specs = [
        TeacherSpec(name=args.teacher, source=args.teacher_source, layer=layer, stats=args.teacher_stats)
        for layer in layers
    ]
    if len(specs) > 1:
        measure.prefetch_layers(specs[1:], fit + held, device=args.device)
    print(
        f"{args.teacher}: statistics fitted on {len(fit)} files of {args.fit}, read on {len(held)} of {args.eval}"
    )
    for layer, spec in zip(layers, specs, strict=True):
        print(f"\nlayer: {'the last (default)' if layer is None else layer}")
        print(measure.check_table(spec, measure.teacher_check(spec, fit, held, targets, device=args.device)))


def _probe(args: argparse.Namespace) -> None:
    from hybridbench.codecs import CODECS
    from hybridbench.registry import parse_names
    from hybridcodec import measure
    from hybridcodec import target as target_mod
    from hybridcodec.teachers import DEFAULT_TARGET, TeacherSpec

    weights = {}
    for entry in args.weights:
        name, sep, path = entry.partition("=")
        if not sep:
            raise HybridcodecError(f"--weights {entry}: expected CODEC=PATH")
        weights[name] = path
    codecs = parse_names(args.codecs)
    stray = sorted(set(weights) - set(codecs))
    if stray:
        raise HybridcodecError(
            f"--weights for {', '.join(stray)}, which --codecs does not name", "add it to --codecs"
        )
    fit, held = measure.utterances(args.fit), measure.utterances(args.eval)
    spec = TeacherSpec(name=args.teacher)
    kind = args.teacher_target or DEFAULT_TARGET[args.teacher]
    rows = []
    for name in codecs:
        codec = CODECS.get(name).load(weights=weights.get(name), device=args.device)
        if not 1 <= args.depth <= codec.num_codebooks:
            raise HybridcodecError(f"--depth {args.depth}: {name} has {codec.num_codebooks} codebooks")
        raw = [
            measure.raw_features(spec, files, frame_rate=codec.frame_rate, device=args.device)
            for files in (fit, held)
        ]
        if kind == "raw":
            targets = tuple(raw)
        else:
            stats = target_mod.fit(raw[0], kind=kind, frame_rate=codec.frame_rate)
            targets = tuple(measure.processed(r, stats, codec.frame_rate) for r in raw)
        mels = [measure.mel_targets(files, codec.frame_rate) for files in (fit, held)]
        codes = [measure.encode_files(codec.encode, codec.sample_rate, files) for files in (fit, held)]
        sizes = tuple(codec.codebook_sizes)
        held_sets = {"eval": (codes[1], targets[1], mels[1])}
        rows += measure.probe_codec(name, args.depth, sizes, (codes[0], targets[0], mels[0]), held_sets)
    print(
        f"probe: fitted on {len(fit)} files of {args.fit}, held-out R2 on {len(held)} of {args.eval}; "
        f"teacher {args.teacher} ({kind}), {measure.CONTEXT} causal frames"
    )
    print(measure.probe_table(rows))


def _encode(args: argparse.Namespace) -> None:
    import numpy as np

    from hybridbench.audio import load_tensor
    from hybridcodec.inference import LoadedModel

    codec = LoadedModel.load(args.checkpoint, device=args.device)
    wav = load_tensor(args.input, codec.sample_rate)
    codes = codec.encode(wav)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.output,
        codes=codes[0].cpu().numpy().astype(np.int64),
        length=np.int64(wav.shape[-1]),
        sample_rate=np.int64(codec.sample_rate),
        frame_rate=np.float64(codec.frame_rate),
        codebook_sizes=np.array(codec.codebook_sizes, dtype=np.int64),
        model_config=np.array(json.dumps(codec.metadata.get("model_config", ""))),
    )


def _decode(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from hybridbench.audio import write_wav
    from hybridcodec.inference import LoadedModel

    try:
        data = np.load(args.input)
        codes, length, sr = data["codes"], int(data["length"]), int(data["sample_rate"])
    except (OSError, KeyError, ValueError) as exc:
        raise HybridcodecError(
            f"{args.input} is not a codes file written by `hybridcodec encode` ({exc})"
        ) from exc
    codec = LoadedModel.load(args.checkpoint, device=args.device)
    if (
        sr != codec.sample_rate
        or tuple(data["codebook_sizes"][: codes.shape[0]]) != codec.codebook_sizes[: codes.shape[0]]
    ):
        raise HybridcodecError(f"{args.input} was encoded by a different model than {args.checkpoint}")
    k = args.depth or codes.shape[0]
    if not 1 <= k <= codes.shape[0]:
        raise HybridcodecError(f"--depth {k} out of range", f"the file holds {codes.shape[0]} codebooks")
    wav = codec.decode(torch.from_numpy(codes[:k])[None])[..., :length]
    write_wav(args.output, wav, codec.sample_rate)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "train": _train, "teacher-check": _teacher_check, "probe": _probe, "encode": _encode,
            "decode": _decode,
        }  # fmt: skip
        commands[args.command](args)
    except (HybridcodecError, HybridbenchError) as exc:
        print(f"hybridcodec: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hybridcodec: interrupted (resume with --resume from the last checkpoint)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
