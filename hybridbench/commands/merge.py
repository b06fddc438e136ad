"""`hybridbench merge RUN... --out RUN`: join the run folders of the shards of one run (`run --shard I/N`).

Every shard's rows are copied into one store (each row key is computed once, in one shard; a key found in
several folders keeps its last copy), the data manifests are carried over, and the tables are written from
the per-item rows as a single run writes them: corpus rates are recomputed from summed edit counts and means
from per-item values, never averaged from the shards' own tables. The shards must share one configuration
(everything but `--shard` and `--out`).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hybridbench.errors import HybridbenchError
from hybridbench.listening import LISTEN_DIR, LISTEN_INDEX
from hybridbench.provenance import git_short
from hybridbench.report.tables import write_tables
from hybridbench.runner import CODEC_FACTS, write_json
from hybridbench.store import ResultStore, check_run_folder

# Settings that differ between the shards of one run by construction (under torchrun, each rank its own GPU),
# or may differ without changing a row (how many processes scored the metrics).
PER_SHARD = ("shard", "out", "device", "workers")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="join the run folders of a sharded run (run --shard I/N) into one")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="the shards' run folders")
    p.add_argument("--out", type=Path, required=True, help="the merged run folder")
    p.set_defaults(func=merge)


def shared_config(runs: list[Path]) -> dict:
    """The configuration the shards share; refused when they were not made by one run."""
    configs = []
    for run in runs:
        path = run / "config.json"
        if not path.is_file():
            raise HybridbenchError(
                f"{run} is not a run folder (no config.json)", "pass the shards' --out folders"
            )
        configs.append(json.loads(path.read_text(encoding="utf-8")))
    first = {k: v for k, v in configs[0].items() if k not in PER_SHARD}
    for run, config in zip(runs[1:], configs[1:], strict=True):
        differ = sorted(
            k for k in set(first) | set(config) if k not in PER_SHARD and first.get(k) != config.get(k)
        )
        if differ:
            raise HybridbenchError(
                f"{run} was run with another configuration than {runs[0]} ({', '.join(differ)})",
                "merge only the shards of one run",
            )
    shards = [tuple(c["shard"]) if c.get("shard") else None for c in configs]
    counts = {s[1] for s in shards if s is not None}
    if None in shards or len(counts) != 1 or len(set(shards)) != len(shards) or len(shards) != counts.pop():
        raise HybridbenchError(
            f"the folders hold shards {shards}, not every shard of one split once", "pass all N shard folders"
        )
    return first


def merge_artifacts(runs: list[Path], out: Path) -> None:
    """Carry over what the shards kept beside their rows: the kept audio and its index, the loaded codecs'
    facts, and the first shard's provenance (the codecs' declared facts; devices differ per shard)."""
    index_lines: list[str] = []
    facts: dict = {}
    for run in runs:
        kept = run / LISTEN_DIR
        if kept.is_dir():
            shutil.copytree(kept, out / LISTEN_DIR, dirs_exist_ok=True)
        if (run / LISTEN_INDEX).is_file():
            index_lines += (run / LISTEN_INDEX).read_text(encoding="utf-8").splitlines()
        if (run / CODEC_FACTS).is_file():
            facts |= json.loads((run / CODEC_FACTS).read_text(encoding="utf-8"))
    if index_lines:
        (out / LISTEN_INDEX).write_text("\n".join(index_lines) + "\n", encoding="utf-8")
    if facts:
        write_json(out / CODEC_FACTS, facts)
    if (runs[0] / "provenance.json").is_file():
        shutil.copyfile(runs[0] / "provenance.json", out / "provenance.json")


def merge(args: argparse.Namespace) -> int:
    paths, copied = merge_runs(args.runs, args.out)
    for path in paths:
        print(path.read_text(encoding="utf-8"))
    print(f"merged {copied} rows from {len(args.runs)} shards into {args.out / 'results.sqlite'}")
    return 0


def merge_runs(runs: list[Path], out: Path) -> tuple[list[Path], int]:
    """Join the shard folders `runs` into `out`: (the tables written, the rows copied)."""
    config = shared_config(runs)
    check_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    copied = 0
    with ResultStore(out / "results.sqlite") as merged:
        for run in runs:
            with ResultStore(run / "results.sqlite") as shard:
                for row in shard.rows():
                    merged.put(row)
                    copied += 1
                for codec, suite, item_id, weights, codes in shard.all_codes():
                    merged.put_codes(codec, suite, item_id, weights, codes)
        rows = list(merged.rows())
    for manifest in sorted(runs[0].glob("manifest-*.jsonl")):
        shutil.copyfile(manifest, out / manifest.name)
    merge_artifacts(runs, out)
    write_json(out / "config.json", config)
    context = {
        "asr": config.get("asr_resolved", {}),
        "timing_repeats": config.get("timing_repeats"),
        "device": config.get("device"),
        "device_name": f"{config.get('device')} (merged from {len(runs)} shards)",
        "git": git_short(),
        "out": str(out),
    }
    depths = config.get("depths") or sorted({r.depth for r in rows})
    return write_tables(rows, out, depths=depths, metric_names=config["metrics"], context=context), copied
