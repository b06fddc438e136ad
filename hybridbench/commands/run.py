"""`hybridbench run`: evaluate codecs on suites at chosen depths and write the report tables."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path

import torch

from hybridbench.codecs import CODECS
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import DEFAULT_METRICS
from hybridbench.presets import PRESETS, PresetRun, RunPreset
from hybridbench.provenance import git_short
from hybridbench.registry import parse_names
from hybridbench.report.tables import markdown_table, write_tables
from hybridbench.run_plan import RunConfig, RunPlan, describe_limit, parse_limit, parse_shard
from hybridbench.runner import Runner
from hybridbench.store import ResultStore
from hybridbench.timing import device_name


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="evaluate codecs on suites at every requested depth")
    p.add_argument("--codecs", help="comma-separated codec names (see `hybridbench codecs`)")
    p.add_argument("--suites", help="comma-separated suite names (see `hybridbench suites`)")
    p.add_argument("--depths", help="comma-separated depths, or 'all' (default: all)", default="all")
    p.add_argument("--asr", help="ASR profile, or per language: en:whisper-tiny.en,*:whisper-base")
    p.add_argument(
        "--limit", help="first N items of each suite, or per suite: asterisk-en-test=10,*=3 (default: all)"
    )
    p.add_argument("--out", type=Path, help="run folder (results.sqlite, tables, manifests)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    p.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="[CODEC=]PATH",
        help="weights file for a codec; repeat for several codecs (CODEC= may be omitted with one codec)",
    )
    p.add_argument("--data-root", help="folder holding the suites' data (for suites that read datasets)")
    p.add_argument(
        "--metrics", help=f"signal metrics (default: {','.join(DEFAULT_METRICS)}, or the preset's)"
    )
    p.add_argument(
        "--timing-repeats",
        type=int,
        help="timed runs per call; RTF uses the median (default: 3, or the preset's)",
    )
    p.add_argument("--retry-failed", action="store_true", help="recompute rows stored as failures")
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="compute only shard I of N (items split by a hash of their key; for scheduler arrays); join the N "
        "run folders with `hybridbench merge`",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be computed and what is stored already, load no model, write nothing",
    )
    p.add_argument("--no-reference", action="store_true", help="do not add the identity (ASR floor) row")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes scoring the signal metrics beside the codec and ASR (default: CPU cores - 1, at most 8, "
        "on a GPU; 0 on a CPU run, whose codec timings they would disturb)",
    )
    p.add_argument(
        "--listen",
        type=int,
        default=0,
        metavar="N",
        help="keep the decoded audio of the first N items of each suite (and the originals) at a few depths, for "
        "the report's listening panel (default: 0, none)",
    )
    p.add_argument(
        "--batch-items",
        type=int,
        default=1,
        metavar="N",
        help="encode and decode up to N items of a codec together (default: 1, one by one): one "
        "zero-padded batch for codecs declaring batch_exact (same codes and audio as one by one), batches of "
        "equal-length items for the others; each row records its batch size, and its encode/decode time is its "
        "batch's, shared by audio samples. Batched convolutions round differently in the last float bits, which "
        "can flip the ASR's choice between two near-equal words on poor audio (tests/core/test_batched_run.py)",
    )
    p.add_argument(
        "--preset",
        help="a named benchmark (see `hybridbench presets`); the flags above override its settings",
    )
    p.set_defaults(func=run)


def _parse_depths(value: str) -> list[int] | None:
    if value.strip().lower() == "all":
        return None
    try:
        return sorted({int(v) for v in parse_names(value)})
    except ValueError:
        raise HybridbenchError(
            f"invalid --depths {value!r}", "use comma-separated integers, e.g. 1,4,12, or all"
        ) from None


def parse_weights(values: list[str], codecs: list[str]) -> dict[str, str]:
    """--weights CODEC=PATH (or PATH when one codec is named) -> {codec: path}; a missing file is an error, and
    so are weights for a codec the command does not run (a typo or a forgotten --codecs entry would otherwise
    leave that codec on its default weights, or the weights unused, without a word)."""
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            named = [c for c in codecs if c != "identity"]
            if len(named) != 1:
                raise HybridbenchError(
                    f"--weights {value} does not say which codec it is for", "write --weights CODEC=PATH"
                )
            name, path = named[0], value
        if name not in codecs:
            raise HybridbenchError(
                f"--weights for {name}, which --codecs does not name (codecs: {', '.join(codecs)})",
                f"add {name} to --codecs, or correct the name before '='",
            )
        if name in out:
            raise HybridbenchError(f"--weights names {name} twice", "give each codec one weights file")
        if not Path(path).is_file():
            raise HybridbenchError(f"weights file not found: {path}", "check the path given to --weights")
        out[name] = path
    return out


def build_config(args: argparse.Namespace, preset: RunPreset | None = None) -> RunConfig:
    if preset is not None:
        codecs = args.codecs or preset.codecs or ",".join(CODECS.names())
        suites = args.suites or preset.suites
        asr = args.asr or preset.asr
        depths = args.depths if args.depths != "all" else preset.depths
        out = args.out or Path(preset.out)
        limit = parse_limit(args.limit or preset.limit)
        metrics = args.metrics or preset.metrics
        repeats = args.timing_repeats if args.timing_repeats is not None else preset.timing_repeats
    else:
        missing = [
            flag
            for flag, v in (("--codecs", args.codecs), ("--suites", args.suites), ("--out", args.out))
            if not v
        ]
        if missing:
            raise HybridbenchError(
                f"missing {', '.join(missing)}",
                "or name a benchmark with --preset (see `hybridbench presets`)",
            )
        codecs, suites, asr, depths, out = (
            args.codecs,
            args.suites,
            args.asr or "whisper-tiny.en",
            args.depths,
            args.out,
        )
        limit = parse_limit(args.limit)
        metrics = args.metrics or ",".join(DEFAULT_METRICS)
        # `or 3` would turn an explicit 0 into 3 without a word; 0 and below are refused by the Runner.
        repeats = args.timing_repeats if args.timing_repeats is not None else 3
    codec_names = parse_names(codecs)
    return RunConfig(
        codecs=codec_names,
        suites=parse_names(suites),
        out=Path(out),
        depths=_parse_depths(depths),
        asr=asr,
        limit=limit,
        device=args.device,
        weights=parse_weights(args.weights, codec_names),
        data_root=args.data_root,
        metrics=parse_names(metrics),
        timing_repeats=repeats,
        retry_failed=args.retry_failed,
        include_reference=not args.no_reference,
        skip_unavailable=preset is not None,
        include_full_depth=preset is not None and preset.include_full_depth,
        shard=parse_shard(args.shard),
        listen=_parse_listen(args.listen),
        workers=_parse_workers(args.workers),
        batch_items=args.batch_items,
    )


def _parse_workers(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise HybridbenchError(f"--workers must be 0 or more, got {value}", "0 scores the metrics inline")
    return value


def _parse_listen(value: int) -> int:
    if value < 0:
        raise HybridbenchError(
            f"--listen must be 0 or more, got {value}", "it is how many items per suite to keep"
        )
    return value


def run(args: argparse.Namespace) -> int:
    preset = PRESETS.get(args.preset) if args.preset else None
    config = build_config(args, preset)
    ranks = torchrun_ranks()
    if ranks is not None:
        return run_as_rank(config, *ranks, dry_run=args.dry_run)
    runner = Runner(config)
    plan = runner.plan()
    if args.dry_run:
        print_plan(plan, config)
        return 0
    summary = runner.execute(plan)
    with ResultStore(config.out / "results.sqlite") as store:
        rows = list(store.rows(summary.keys))
    context = {
        "asr": summary.asr,
        "timing_repeats": config.timing_repeats,
        "device": str(runner.device),
        "device_name": device_name(runner.device),
        "git": git_short(),
        "out": str(config.out),
    }
    depths = config.depths or sorted({r.depth for r in rows})
    paths = write_tables(rows, config.out, depths=depths, metric_names=config.metrics, context=context)
    for path in paths:
        print(path.read_text(encoding="utf-8"))
    if preset is not None and preset.pages is not None:
        produced = PresetRun(
            rows=rows, out=config.out, metrics=config.metrics, device=runner.device,
            unavailable=summary.unavailable, limit_description=describe_limit(config.limit),
        )  # fmt: skip
        for page in preset.pages(produced):
            print(page.read_text(encoding="utf-8"))
            paths.append(page)
    print(
        f"rows: {summary.computed} computed ({summary.failed} failed), {summary.reused} reused from "
        f"{config.out / 'results.sqlite'}"
    )
    for suite, count in summary.problems.items():
        if count:
            print(
                f"{suite}: {count} dataset rows did not become items (see {config.out}/problems-{suite}.jsonl)"
            )
    failures = Counter(r.error for r in rows if r.status == "failed")
    if failures:
        print(f"\n{sum(failures.values())} rows failed (kept in the store and counted in the tables):")
        for reason, count in failures.most_common(10):
            print(f"  {count} x {reason}")
    if preset is not None:
        print(
            f"\nPreset {preset.name} ({preset.description}): {describe_limit(config.limit)}, depths "
            f"{','.join(map(str, config.depths or [])) or 'all'}"
            + (" and each codec's full depth" if config.include_full_depth else "")
            + f", metrics {','.join(config.metrics)}, {config.timing_repeats} timed run(s) per call "
            "(--codecs, --suites, --limit, --depths, --metrics, --timing-repeats change them)."
        )
    if summary.unavailable_suites:
        print("\nSuites not run because their data is not here:")
        for name, hint in summary.unavailable_suites.items():
            print(f"  {name}: {hint}")
    if summary.unavailable:
        print("\nCodecs not run because their weights are not here:", file=sys.stdout)
        for name, hint in summary.unavailable.items():
            print(f"  {name}: {hint}")
    print(f"tables: {', '.join(str(p) for p in paths)}")
    return 0


def print_plan(plan: RunPlan, config: RunConfig) -> None:
    """The --dry-run answer: the rows per codec and suite, how many are stored, and what is left out."""
    rows = plan.table()
    header = list(rows[0]) if rows else ["codec", "suite"]
    print(markdown_table(header, [[str(r[h]) for h in header] for r in rows]))
    summary = plan.summary
    print(
        f"\n{plan.rows_to_compute} rows to compute, {summary.reused} stored already in "
        f"{config.out / 'results.sqlite'}; metrics {','.join(config.metrics) or 'none'}, device {config.device}"
    )
    for name, hint in summary.unavailable_suites.items():
        print(f"suite not run (no data here): {name}: {hint}")
    for name, hint in summary.unavailable.items():
        print(f"codec not run (no weights here): {name}: {hint}")


def torchrun_ranks() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) when started by torchrun (or any launcher that sets its variables)."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None
    world = int(os.environ["WORLD_SIZE"])
    if world < 2:
        return None
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def run_as_rank(config: RunConfig, rank: int, world: int, local_rank: int, *, dry_run: bool) -> int:
    """One rank of `torchrun -m hybridbench.cli run ...`: shard `rank` of `world` into OUT/shard-R-of-N on its own
    device; when every rank has finished, rank 0 merges the shards into OUT (as `hybridbench merge` does)."""
    import torch.distributed as dist

    from hybridbench.commands.merge import merge_runs

    if config.shard is not None:
        raise HybridbenchError("--shard and torchrun both split the run", "use one of them")
    device = config.device
    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        device = f"cuda:{local_rank}"  # one device per rank
    out = config.out
    shards = [out / f"shard-{r}-of-{world}" for r in range(world)]
    config = dataclasses.replace(config, shard=(rank, world), out=shards[rank], device=device)
    runner = Runner(config)
    plan = runner.plan()
    if dry_run:
        if rank == 0:
            print_plan(plan, config)
        return 0
    # A CPU process group is enough to wait for each other, whatever device the codecs run on.
    dist.init_process_group("gloo")
    try:
        runner.execute(plan)
        dist.barrier()
        if rank == 0:  # the other ranks may leave: torchrun waits for every process
            paths, copied = merge_runs(shards, out)
            for path in paths:
                print(path.read_text(encoding="utf-8"))
            print(f"merged {copied} rows from {world} ranks into {out / 'results.sqlite'}")
    finally:
        dist.destroy_process_group()
    return 0
