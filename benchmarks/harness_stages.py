"""Where a hybridbench run spends its time: seconds per stage per row (read and resample, encode, decode,
ASR, each signal metric, store), throughput in audio-seconds per second, with the metrics inline and in 1 and 2
worker processes, and the projected wall time of the user's main job from these measurements.

    python benchmarks/harness_stages.py [--suite asterisk-en-test] [--limit 8] [--workers 0,1,2] \
        [--out leaderboards/harness.md]
    # on a GPU machine (benchmarks/gpu_harness.sh): the stages on cuda, and the rows against a CPU run
    python benchmarks/harness_stages.py --device cuda --compare-device cpu --asr-model FOLDER ...

Each setting is a fresh run (its own store) of the same codecs, items and depths through `hybridbench.runner`,
whose StageClock sums the seconds of every stage. Run it on a quiet machine: other jobs change every number.
The projection is arithmetic on stated assumptions (printed with the table), not a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hybridbench.metrics.asr import ASR_PROFILES, AsrProfile
from hybridbench.provenance import git_short, package_versions
from hybridbench.report.tables import markdown_table
from hybridbench.results import open_run
from hybridbench.runner import RunConfig, Runner
from hybridbench.timing import cpu_name, device_name

# The user's main job (issue 22): LibriSpeech test-clean x every depth x three codecs, Whisper large-v3.
LIBRISPEECH_TEST_CLEAN = {"utterances": 2620, "hours": 5.40}
MAIN_JOB = {"codecs": 3, "depths": 12}
# Whisper large-v3 through faster-whisper, fp16, beam 5: 13 min of audio in 52.0 s on an RTX 2080 Ti
# (SYSTRAN/faster-whisper issue #1030), i.e. RTF 0.0667 unbatched; batching only lowers it.
ASR_GPU_RTF = 52.0 / (13 * 60)
# The HybridCodec paper's encode+decode RTF on an RTX A6000 (claims, not measured here): HybridCodec 0.014,
# DualCodec 0.042 (PROTOCOL.md). A run encodes once per item and decodes once per depth; decode is taken as half.
CODEC_GPU_RTF = {"encode": 0.021 / 2, "decode": 0.021 / 2}  # mean of the two claims, split evenly


def measure(config: RunConfig) -> dict:
    runner = Runner(config)
    start = time.perf_counter()
    summary = runner.run()
    wall = time.perf_counter() - start
    items = open_run(config.out).items
    ok = items[items["status"] == "ok"]
    rows = len(items)
    audio_s = float(ok["audio_s"].sum())
    return {
        "workers": config.workers,
        "rows": rows,
        "computed": summary.computed,
        "failed": summary.failed,
        "wall_s": wall,
        "row_audio_s": audio_s,
        "throughput": audio_s / wall,
        "stages": {
            name: {"seconds": s, "calls": runner.clock.calls[name]}
            for name, s in runner.clock.seconds.items()
        },
        "scored_rows": int(ok["signal_metrics"].map(lambda m: bool(m)).sum()),
        "scored_audio_s": float(ok[ok["signal_metrics"].map(lambda m: bool(m))]["audio_s"].sum()),
    }


def combine(runs: list[dict]) -> dict:
    """One setting's rounds as one result: stage seconds averaged over the rounds, wall time their median
    (throughput from it), every round's wall time kept."""
    walls = [r["wall_s"] for r in runs]
    names = list(dict.fromkeys(n for r in runs for n in r["stages"]))
    stages = {
        name: {
            "seconds": float(np.mean([r["stages"].get(name, {"seconds": 0.0})["seconds"] for r in runs])),
            "calls": max(r["stages"].get(name, {"calls": 0})["calls"] for r in runs),
        }
        for name in names
    }
    wall = float(np.median(walls))
    return runs[0] | {
        "stages": stages,
        "wall_s": wall,
        "wall_runs_s": walls,
        "throughput": runs[0]["row_audio_s"] / wall,
    }


def stage_table(results: list[dict]) -> str:
    names = list(dict.fromkeys(n for r in results for n in r["stages"]))
    header = ["stage", *[f"workers={r['workers']}: s/row" for r in results]]
    body = []
    for name in names:
        cells = []
        for r in results:
            st = r["stages"].get(name)
            cells.append("—" if st is None else f"{st['seconds'] / r['rows']:.4f}")
        body.append([name, *cells])

    def wall(r: dict) -> str:
        runs = r.get("wall_runs_s", [r["wall_s"]])
        spread = f" ({min(runs) / r['rows']:.2f}–{max(runs) / r['rows']:.2f})" if len(runs) > 1 else ""
        return f"{r['wall_s'] / r['rows']:.4f}{spread}"

    body.append(["**wall**", *[wall(r) for r in results]])
    body.append(["throughput (audio-s per s)", *[f"{r['throughput']:.2f}" for r in results]])
    return markdown_table(header, body)


def projection(inline: dict, gpus: int, workers_per_gpu: int) -> dict:
    """Wall hours of the main job: per row, the GPU side (decode + ASR, and the item's encode spread over its
    depths) and the CPU side (the signal metrics, measured here per audio-second on one core, shared by the
    workers) run side by side, so the slower side sets the pace."""
    audio_s = LIBRISPEECH_TEST_CLEAN["hours"] * 3600
    depths, codecs = MAIN_JOB["depths"], MAIN_JOB["codecs"]
    metric_s_per_audio_s = sum(
        st["seconds"] for name, st in inline["stages"].items() if name.startswith("metric ")
    ) / max(inline["scored_audio_s"], 1e-9)
    gpu_s = codecs * audio_s * (CODEC_GPU_RTF["encode"] + depths * (CODEC_GPU_RTF["decode"] + ASR_GPU_RTF))
    cpu_s = codecs * depths * audio_s * metric_s_per_audio_s / workers_per_gpu
    return {
        "gpus": gpus,
        "workers_per_gpu": workers_per_gpu,
        "gpu_hours": gpu_s / 3600 / gpus,
        "cpu_metric_hours": cpu_s / 3600 / gpus,
        "wall_hours": max(gpu_s, cpu_s) / 3600 / gpus,
        "metric_s_per_audio_s": metric_s_per_audio_s,
    }


def local_asr(folder: Path) -> str:
    """Register a transformers Whisper folder (benchmarks/tiny_whisper.py's, say) as an ASR profile; its name."""
    name = f"local-{Path(folder).name}"
    profile = AsrProfile(
        name=name, model=str(folder), engine="transformers", max_tokens_per_second=10.0,
        description=f"transformers Whisper from {folder}",
    )  # fmt: skip
    ASR_PROFILES.add(name, profile)
    return name


def device_agreement(run: Path, other: Path) -> pd.DataFrame:
    """Rows of two runs of one configuration on two devices, matched by (suite, codec, item, depth): per codec,
    the share of equal full-depth codes, of equal transcripts, and the largest difference of each signal
    metric. Codec arithmetic differs between devices in the last bits, so codes may flip near a codebook
    boundary and the decoded audio differs slightly; these numbers say how much that moves a result."""
    a, b = open_run(run), open_run(other)
    key = ["suite", "codec", "item_id", "depth"]
    both = a.items.merge(b.items, on=key, suffixes=("", "_other"))
    both = both[(both["status"] == "ok") & (both["status_other"] == "ok")]
    metrics = [m for m in a.metric_names if m in both and f"{m}_other" in both]
    rows = []
    for codec, group in both.groupby("codec", sort=False):
        suite = group["suite"].iloc[0]
        codes_a, codes_b = a.codes(codec, suite), b.codes(codec, suite)
        shared = [i for i in codes_a if i in codes_b and codes_a[i].shape == codes_b[i].shape]
        equal_codes = (
            float(np.mean([np.mean(codes_a[i] == codes_b[i]) for i in shared])) if shared else float("nan")
        )
        row = {
            "codec": codec,
            "rows": len(group),
            "codes equal": equal_codes,
            "transcripts equal": float((group["transcript"] == group["transcript_other"]).mean()),
        }
        for m in metrics:
            row[f"max |Δ {m}|"] = float((group[m] - group[f"{m}_other"]).abs().max())
        rows.append(row)
    return pd.DataFrame(rows)


def agreement_section(table: pd.DataFrame, device: str, other: str) -> list[str]:
    header = list(table.columns)
    body = [
        [f"{v:.4f}" if isinstance(v, float) else str(v) for v in r] for r in table.itertuples(index=False)
    ]
    return [
        f"## The same rows on {device} and on {other}",
        "",
        f"The workers=0 run repeated on {other} and matched row by row (suite, codec, item, depth). Codes: share of "
        "equal full-depth code entries (codecs whose codes the run stores; nan otherwise). Transcripts: share of "
        "rows with the identical transcript. Metrics: the largest absolute difference over the rows.",
        "",
        markdown_table(header, body),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="asterisk-en-test")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--codecs", default="dac-mini,hybridcodec-mini")
    parser.add_argument("--asr", default="whisper-base")
    parser.add_argument("--metrics", default="pesq-wb,stoi,speaker-sim-resemblyzer")
    parser.add_argument("--workers", default="0,1,2", help="comma-separated settings to measure")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    parser.add_argument("--out", type=Path, help="write the Markdown here and the numbers beside it as .json")
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of every setting, interleaved (wall: median and range)"
    )
    parser.add_argument("--device", default="cpu", help="where the codecs and the ASR run (cpu, cuda)")
    parser.add_argument("--data-root", help="where the suite's data is (default: the suite's own place)")
    parser.add_argument(
        "--asr-model", type=Path, help="a transformers Whisper folder to use as the ASR (replaces --asr)"
    )
    parser.add_argument(
        "--compare-device", help="also run the workers=0 setting on this device and compare the rows"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.asr_model is not None:
        args.asr = local_asr(args.asr_model)
    settings = [int(w) for w in args.workers.split(",")]
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if 0 not in settings:
        parser.error("--workers must include 0: the projection and the device comparison read that run")

    def config(folder: Path, workers: int, device: str) -> RunConfig:
        return RunConfig(
            codecs=args.codecs.split(","), suites=[args.suite], out=folder, asr=args.asr, limit=args.limit,
            metrics=args.metrics.split(","), timing_repeats=1, workers=workers, device=device,
            data_root=args.data_root,
        )  # fmt: skip

    rounds: dict[int, list[dict]] = {w: [] for w in settings}
    with contextlib.ExitStack() as keep:
        # Settings interleaved round by round, so a machine that slows for a while slows all of them alike.
        for n in range(args.rounds):
            for workers in settings:
                run_dir = tempfile.TemporaryDirectory()
                folder = Path(run_dir.name)
                rounds[workers].append(measure(config(folder, workers, args.device)) | {"folder": folder})
                # Only the first inline run is read again (by the device comparison); the rest can go now.
                if n == 0 and workers == 0:
                    keep.callback(run_dir.cleanup)
                else:
                    run_dir.cleanup()
                done = rounds[workers][-1]
                print(
                    f"round {n + 1}, workers={workers}: {done['wall_s']:.1f} s for {done['rows']} rows",
                    flush=True,
                )
        results = [combine(rounds[w]) for w in settings]
        agreement = None
        if args.compare_device:
            other = Path(keep.enter_context(tempfile.TemporaryDirectory()))
            Runner(config(other, 0, args.compare_device)).run()
            agreement = device_agreement(rounds[0][0]["folder"], other)
            print(agreement.to_string(index=False), flush=True)
    inline = next(r for r in results if r["workers"] == 0)
    projections = [projection(inline, 1, 7), projection(inline, 8, 7)]
    lines = [
        "# Harness stages",
        "",
        f"Regenerate: `python benchmarks/harness_stages.py --suite {args.suite} --limit {args.limit} "
        f"--codecs {args.codecs} "
        + (f"--asr-model {args.asr_model} " if args.asr_model else f"--asr {args.asr} ")
        + f"--metrics {args.metrics} --workers {args.workers}"
        + (f" --rounds {args.rounds}" if args.rounds > 1 else "")
        + (f" --device {args.device}" if args.device != "cpu" else "")
        + (f" --compare-device {args.compare_device}" if args.compare_device else "")
        + (f" --out {args.out}`" if args.out else "`"),
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, {platform.platform()}"
        + (f", {device_name(torch.device(args.device))}" if args.device != "cpu" else "")
        + "; torch "
        f"{torch.__version__}, {args.threads} thread(s) in the main process; code {git_short()}. Each setting is a "
        f"fresh run of {args.codecs} (+ the identity) on the first {args.limit} items of {args.suite}, every "
        f"depth, ASR {args.asr}, metrics {args.metrics}, one timed call per encode/decode.",
        "",
        "Seconds per row (one item decoded at one depth) in each stage, summed over the run and divided by its "
        "rows"
        + (
            f"; {args.rounds} rounds with the settings interleaved: stages averaged over the rounds, wall time "
            "their median with its range in brackets"
            if args.rounds > 1
            else ""
        )
        + ". With workers, the metric stages move to other processes: the main process only hands them over and "
        "waits for their results at the end.",
        "",
        stage_table(results),
        "",
        "## Projected wall time of LibriSpeech test-clean x 12 depths x 3 codecs, Whisper large-v3",
        "",
        "Assumptions (stated, not measured here):",
        f"- test-clean: {LIBRISPEECH_TEST_CLEAN['utterances']} utterances, {LIBRISPEECH_TEST_CLEAN['hours']} h.",
        f"- ASR on the GPU at RTF {ASR_GPU_RTF:.4f} (faster-whisper large-v3 fp16 beam 5, 13 min in 52.0 s on an "
        "RTX 2080 Ti, SYSTRAN/faster-whisper#1030), unbatched.",
        f"- Codec on the GPU at encode RTF {CODEC_GPU_RTF['encode']:.4f} per item and decode RTF "
        f"{CODEC_GPU_RTF['decode']:.4f} per depth (half each of the mean of the HybridCodec paper's claimed "
        "encode+decode RTFs on an RTX A6000, 0.014 and 0.042).",
        "- Signal metrics at the per-audio-second CPU cost measured above with workers=0, shared by "
        f"{projections[0]['workers_per_gpu']} worker processes per GPU (`--workers` default on a GPU machine: "
        "cores - 1, at most 8; 7 on 8 cores per GPU), running beside the GPU: the slower side sets the pace.",
        "- 8 GPUs: the items sharded evenly (`torchrun` or `--shard`), each GPU with its own workers.",
        "",
        markdown_table(
            ["GPUs", "GPU side (h)", "CPU metrics side (h)", "wall (h)"],
            [
                [
                    str(p["gpus"]),
                    f"{p['gpu_hours']:.2f}",
                    f"{p['cpu_metric_hours']:.2f}",
                    f"{p['wall_hours']:.2f}",
                ]
                for p in projections
            ],
        ),
        "",
        f"Signal metrics cost {projections[0]['metric_s_per_audio_s']:.3f} CPU-s per audio-second here "
        "(sum of the metric stages over the scored audio).",
        "",
    ]
    if agreement is not None:
        lines += agreement_section(agreement, args.device, args.compare_device)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        record = {
            "results": results,
            "projections": projections,
            "device_agreement": agreement.to_dict(orient="records") if agreement is not None else None,
            "packages": package_versions(),
            "args": vars(args),
        }
        args.out.with_suffix(".json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
