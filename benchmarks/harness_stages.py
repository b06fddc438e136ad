"""Where a hybridbench run spends its time: seconds per stage per row (read and resample, encode, decode,
ASR, each signal metric, store), throughput in audio-seconds per second, with the metrics inline and in 1 and 2
worker processes, and the projected wall time of the user's main job from these measurements.

    python benchmarks/harness_stages.py [--suite asterisk-en-test] [--limit 8] [--workers 0,1,2] \
        [--out leaderboards/harness.md]

Each setting is a fresh run (its own store) of the same codecs, items and depths through `hybridbench.runner`,
whose StageClock sums the seconds of every stage. Run it on a quiet machine: other jobs change every number.
The projection is arithmetic on stated assumptions (printed with the table), not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from hybridbench.provenance import git_short, package_versions
from hybridbench.report.tables import markdown_table
from hybridbench.results import open_run
from hybridbench.runner import RunConfig, Runner
from hybridbench.timing import cpu_name

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
    body.append(["**wall**", *[f"{r['wall_s'] / r['rows']:.4f}" for r in results]])
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            config = RunConfig(
                codecs=args.codecs.split(","), suites=[args.suite], out=Path(tmp), asr=args.asr, limit=args.limit,
                metrics=args.metrics.split(","), timing_repeats=1, workers=workers,
            )  # fmt: skip
            results.append(measure(config))
        print(f"workers={workers}: {results[-1]['wall_s']:.1f} s for {results[-1]['rows']} rows", flush=True)
    inline = next(r for r in results if r["workers"] == 0)
    projections = [projection(inline, 1, 7), projection(inline, 8, 7)]
    lines = [
        "# Harness stages",
        "",
        f"Regenerate: `python benchmarks/harness_stages.py --suite {args.suite} --limit {args.limit} "
        f"--codecs {args.codecs} --asr {args.asr} --metrics {args.metrics} --workers {args.workers}"
        + (f" --out {args.out}`" if args.out else "`"),
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, {platform.platform()}; torch "
        f"{torch.__version__}, {args.threads} thread(s) in the main process; code {git_short()}. Each setting is a "
        f"fresh run of {args.codecs} (+ the identity) on the first {args.limit} items of {args.suite}, every "
        f"depth, ASR {args.asr}, metrics {args.metrics}, one timed call per encode/decode.",
        "",
        "Seconds per row (one item decoded at one depth) in each stage, summed over the run and divided by its "
        "rows. With workers, the metric stages move to other processes: the main process only hands them over and "
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
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        record = {
            "results": results,
            "projections": projections,
            "packages": package_versions(),
            "args": vars(args),
        }
        args.out.with_suffix(".json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
