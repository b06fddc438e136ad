"""`hybridbench run`: evaluate codecs on suites at chosen depths and write the report tables."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from hybridbench.codecs import CODECS
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import DEFAULT_METRICS
from hybridbench.provenance import git_state
from hybridbench.registry import parse_names
from hybridbench.report.replication import bench_has_minis, bench_summary
from hybridbench.report.tables import write_tables
from hybridbench.runner import RunConfig, Runner, describe_limit, parse_limit
from hybridbench.speed import ClaimTiming, speed_claim
from hybridbench.store import ResultStore
from hybridbench.timing import device_name

# The offline default (`make bench`): every codec whose weights are here (the four mini models trained by the
# replication ship in the package, beside the identity floor and the classic codecs) on the replication's
# held-out suites (skipped, with the command that prepares them, where absent); English transcribed by
# Whisper tiny.en and French by Whisper base (tiny.en is English-only). The first DEFAULT_LIMIT items of each
# suite (10 of asterisk-en-test, the fewest for which `compare` gives a paired verdict; 2 of the others),
# depths 1 (RVQ-1) and 12 plus each residual codec's full depth (Opus and AMR-NB, simulcast, at depth 1 only:
# their lowest bitrate, the nearest to the minis' 3 kbit/s), PESQ-WB and STOI, one timed run per call, and
# the speed claim timed on its own (BENCH_SPEED, about 10 s): sized by measurement to stay under 5 minutes
# on 2 CPU cores (README; --limit, --depths, --metrics and --timing-repeats change it; `make leaderboard`
# runs all).
DEFAULT_SUITES = "asterisk-en-test,librivox-mini,synthetic-en,asterisk-fr-test"
DEFAULT_ASR = "en:whisper-tiny.en,*:whisper-base"
DEFAULT_DEPTHS = "1,12"
DEFAULT_LIMIT = "asterisk-en-test=10,*=2"
DEFAULT_BENCH_METRICS = "pesq-wb,stoi"
DEFAULT_BENCH_TIMING_REPEATS = 1
# The speed claim is timed apart from the scoring, as the leaderboard does, with fewer calls to fit the budget.
BENCH_SPEED = ClaimTiming(seconds=4.0, repeats=3, warmup=1)


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
        "--metrics",
        help=f"signal metrics (default: {','.join(DEFAULT_METRICS)}; with --default: {DEFAULT_BENCH_METRICS})",
    )
    p.add_argument(
        "--timing-repeats",
        type=int,
        help=f"timed runs per call; RTF uses the median (default: 3; with --default: {DEFAULT_BENCH_TIMING_REPEATS})",
    )
    p.add_argument("--retry-failed", action="store_true", help="recompute rows stored as failures")
    p.add_argument("--no-reference", action="store_true", help="do not add the identity (ASR floor) row")
    p.add_argument(
        "--default",
        action="store_true",
        help=f"the offline benchmark: every codec with weights here, suites {DEFAULT_SUITES} where present, "
        f"ASR {DEFAULT_ASR}, depths {DEFAULT_DEPTHS} and full, {describe_limit(parse_limit(DEFAULT_LIMIT))}, metrics "
        f"{DEFAULT_BENCH_METRICS}",
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
    """--weights CODEC=PATH (or PATH when one codec is named) -> {codec: path}; a missing file is an error."""
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
        if not Path(path).is_file():
            raise HybridbenchError(f"weights file not found: {path}", "check the path given to --weights")
        out[name] = path
    return out


def build_config(args: argparse.Namespace) -> RunConfig:
    if args.default:
        codecs = args.codecs or ",".join(CODECS.names())
        suites = args.suites or DEFAULT_SUITES
        asr = args.asr or DEFAULT_ASR
        depths = args.depths if args.depths != "all" else DEFAULT_DEPTHS
        out = args.out or Path("runs/bench")
        limit = parse_limit(args.limit or DEFAULT_LIMIT)
    else:
        missing = [
            flag
            for flag, v in (("--codecs", args.codecs), ("--suites", args.suites), ("--out", args.out))
            if not v
        ]
        if missing:
            raise HybridbenchError(
                f"missing {', '.join(missing)}", "or use --default for the offline benchmark"
            )
        codecs, suites, asr, depths, out = (
            args.codecs,
            args.suites,
            args.asr or "whisper-tiny.en",
            args.depths,
            args.out,
        )
        limit = parse_limit(args.limit)
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
        metrics=parse_names(
            args.metrics or (DEFAULT_BENCH_METRICS if args.default else ",".join(DEFAULT_METRICS))
        ),
        timing_repeats=args.timing_repeats or (DEFAULT_BENCH_TIMING_REPEATS if args.default else 3),
        retry_failed=args.retry_failed,
        include_reference=not args.no_reference,
        skip_unavailable=args.default,
        include_full_depth=args.default,
    )


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    runner = Runner(config)
    summary = runner.run()
    with ResultStore(config.out / "results.sqlite") as store:
        rows = list(store.rows(summary.keys))
    context = {
        "asr": summary.asr,
        "timing_repeats": config.timing_repeats,
        "device": str(runner.device),
        "device_name": device_name(runner.device),
        "git": _git_short(),
        "out": str(config.out),
    }
    depths = config.depths or sorted({r.depth for r in rows})
    paths = write_tables(rows, config.out, depths=depths, metric_names=config.metrics, context=context)
    for path in paths:
        print(path.read_text(encoding="utf-8"))
    replication = None
    if args.default and bench_has_minis(rows):
        speed, speed_note = speed_claim(runner.device, summary.unavailable, BENCH_SPEED)
        replication = bench_summary(rows, config.metrics, speed=speed)
    if replication is not None:
        target = config.out / "mini-replication.md"
        note = (
            f"{describe_limit(config.limit).capitalize()}: the intervals are wide. The full evaluation is "
            "leaderboards/mini-replication.md (`make leaderboard`).\n\n"
            + (f"{speed_note}\n\n" if speed_note else "")
        )
        target.write_text(note + replication + "\n", encoding="utf-8")
        print(note + replication)
        paths.append(target)
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
    if config.skip_unavailable and config.limit:
        print(
            f"\nDefault benchmark, sized for a few minutes on 2 CPU cores: {describe_limit(config.limit)}, "
            f"depths {','.join(map(str, config.depths or []))} and each codec's full depth (a simulcast "
            f"codec such as Opus: only those operating points), metrics {','.join(config.metrics)}, "
            f"{config.timing_repeats} timed run(s) per call (--limit, --depths, --metrics, --timing-repeats "
            "change them; `make leaderboard` runs the full comparison)."
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


def _git_short() -> str:
    state = git_state()
    if not state["commit"]:
        return "unknown"
    return state["commit"][:10] + (" (uncommitted changes)" if state["dirty"] else "")
