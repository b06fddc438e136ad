"""Evaluate every (codec, suite, item, depth): encode once at full depth, decode each prefix `codes[:, :k]`,
score the decoded audio against the original (signal metrics) and against the reference text (ASR).

Audio path: the item is read once; the codec gets it resampled to its own rate, and the decoded audio is
resampled to 16 kHz and trimmed/padded to the 16 kHz original before ASR, PESQ and STOI, so every codec is
scored on the same grid. Every row is stored as soon as it exists (see `store.py`); a second run with the
same configuration recomputes nothing, and a codec that fails on one item leaves a failure row with the
reason while the run goes on.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hybridbench.audio import RESAMPLER, load_audio, resample
from hybridbench.codec_batches import BatchCoder, Decoded, Encoded, Input
from hybridbench.codecs import Codec, codes_are_tokens, match_length
from hybridbench.errors import HybridbenchError
from hybridbench.listening import ListeningWriter, listen_depths
from hybridbench.metric_pool import MetricPool, ScoringJob, default_workers, score_all
from hybridbench.metrics import METRICS, Metric
from hybridbench.metrics.asr import ASR_SAMPLE_RATE, AsrChoice, AsrProfile, Recognizer, load_transcriber
from hybridbench.provenance import collect
from hybridbench.run_plan import (
    SCHEMA_VERSION,
    CodecPlan,
    RunConfig,
    RunPlan,
    RunSummary,
    WorkUnit,
    check_depths,
    item_sha256,
    plan_codecs,
    resolve_device,
    row_key,
    shard_of,
    write_manifest,
)
from hybridbench.store import ResultRow, ResultStore, check_run_folder, run_lock
from hybridbench.suites import SUITES, Item
from hybridbench.timing import StageClock

# Rows waiting for their signal metrics before the runner stops decoding to wait for the oldest.
MAX_PENDING_ROWS = 64
CODEC_FACTS = "codecs.json"  # what only a loaded codec knows (parameters, precision), per codec


class Runner:
    def __init__(self, config: RunConfig):
        check_depths(config.depths)
        if config.timing_repeats < 1:
            raise HybridbenchError(
                f"--timing-repeats must be at least 1, got {config.timing_repeats}",
                "it is how many timed runs each encode and decode gets; RTF uses their median",
            )
        if config.batch_items < 1:
            raise HybridbenchError(
                f"--batch-items must be at least 1, got {config.batch_items}",
                "it is how many items are encoded and decoded together; 1 runs them one by one",
            )
        self.config = config
        self.device = resolve_device(config.device)
        self.asr = AsrChoice.parse(config.asr)
        self.metrics: list[Metric] = [METRICS.get(name)() for name in config.metrics]
        self._transcribers: dict[str, Recognizer] = {}
        self.clock = StageClock()  # seconds per stage, for the harness benchmark
        self._suite_items: dict[str, list[Item]] = {}
        self._listen_ids: dict[str, set[str]] = {}

    # ---- lazily loaded models ---------------------------------------------------------------------------
    def transcriber(self, profile: AsrProfile) -> Recognizer:
        if profile.name not in self._transcribers:
            asr_device = "cuda" if self.device.type == "cuda" else "cpu"
            self._transcribers[profile.name] = load_transcriber(profile, device=asr_device)
        return self._transcribers[profile.name]

    def _load_codec(self, plan: CodecPlan) -> Codec:
        codec = plan.cls.load(weights=plan.weights, device=self.device)
        # Warm-up: first calls pay for kernel selection and allocation; they must not count as speed.
        warm = torch.zeros(1, 1, codec.sample_rate, device=self.device)
        warm[..., :: max(1, codec.sample_rate // 200)] = 0.1
        codec.decode(codec.encode(warm), length=warm.shape[-1])
        return codec

    # ---- the run: a pure plan, then its execution ----------------------------------------------------------
    def run(self) -> RunSummary:
        return self.execute(self.plan())

    def plan(self) -> RunPlan:
        """What the run will compute and what the store already holds; reads data and the store, writes nothing."""
        cfg = self.config
        # Before any suite is read or model loaded: an unusable --out would otherwise end the run in a traceback
        # after its first item.
        check_run_folder(cfg.out)
        summary = RunSummary()
        suites = self._available_suites(summary)
        codec_plans = plan_codecs(cfg, summary)
        summary.codec_info = {p.name: p.info for p in codec_plans}
        suite_items: dict[str, list[Item]] = {}
        problems: dict[str, list[Any]] = {}
        hashes: dict[tuple[str, str], str] = {}
        profiles: dict[str, AsrProfile] = {}
        for name, cls in suites.items():
            suite_obj = cls(data_root=cfg.data_root)
            items = suite_obj.items()
            problems[name] = suite_obj.problems()
            summary.problems[name] = len(problems[name])
            limit = cfg.limit_for(name)
            items = items[:limit] if limit is not None else items
            if not items:
                raise HybridbenchError(f"suite {name} has no items", "check --data-root and --limit")
            suite_items[name] = items
            profiles[name] = self.asr.for_language(items[0].language)
            hashes.update({(name, item.id): item_sha256(item) for item in items})
        summary.asr = {suite: profile.to_dict() for suite, profile in profiles.items()}
        self._suite_items, self._listen_ids = suite_items, {}
        plan = RunPlan(summary, codec_plans, suite_items, problems, hashes, profiles, [])
        store_path = cfg.out / "results.sqlite"
        if store_path.is_file():
            with ResultStore(store_path) as store:
                self._plan_work(plan, lambda key: self._needs(store, key))
        else:
            self._plan_work(plan, lambda key: True)
        return plan

    def _available_suites(self, summary: RunSummary) -> dict[str, type]:
        cfg = self.config
        suites = {name: SUITES.get(name) for name in dict.fromkeys(cfg.suites)}
        unknown = set(cfg.limit) - {"*", *suites} if isinstance(cfg.limit, dict) else set()
        if unknown:
            raise HybridbenchError(
                f"--limit names suites that are not in this run: {', '.join(sorted(unknown))}",
                f"the run's suites are {', '.join(suites)}",
            )
        for name, cls in list(suites.items()):
            status = cls.status(cfg.data_root)
            if not status.available:
                if not cfg.skip_unavailable:
                    raise HybridbenchError(f"suite {name} has no data here", status.hint)
                summary.unavailable_suites[name] = status.hint
                del suites[name]
        if not suites:
            raise HybridbenchError("none of the requested suites has data here", "see `hybridbench suites`")
        return suites

    def _plan_work(self, plan: RunPlan, needed: Callable[[str], bool]) -> None:
        """Every row's cache key; the rows `needed` says are not stored yet become work units."""
        metric_ids = [(m.spec.name, m.spec.version) for m in self.metrics]
        cfg_shard = self.config.shard
        for codec_plan in plan.codecs:
            for suite, items in plan.items.items():
                profile = plan.profiles[suite]
                asr_id = {**profile.to_dict(), "model_sha256": profile.resolve_model()[1]}
                for item in items:
                    if cfg_shard is not None and shard_of(suite, item.id, cfg_shard[1]) != cfg_shard[0]:
                        continue
                    # Not in the key: batch_items. A batch-exact codec gives each item of a padded batch its
                    # one-by-one codes and audio (tests/codecs/test_batch_exact.py), the others batch only
                    # equal-length items, and the ASR hears each item's depths in one call either way, so
                    # batching changes no stored number but timings, which are measurements, not inputs
                    # (timing_repeats is not keyed either); each row records its batch size instead.
                    keys = {
                        depth: row_key(
                            SCHEMA_VERSION,
                            codec_plan.name,
                            codec_plan.weights_id,
                            depth,
                            suite,
                            item.id,
                            plan.hashes[(suite, item.id)],
                            item.text,
                            item.language,
                            asr_id,
                            metric_ids if depth in codec_plan.signal_depths else [],
                            self.device.type,
                        )
                        for depth in codec_plan.depths
                    }
                    plan.summary.keys.extend(keys.values())
                    missing_clips = self._missing_clips(codec_plan, suite, item)
                    todo = {d: k for d, k in keys.items() if needed(k) or d in missing_clips}
                    plan.summary.reused += len(keys) - len(todo)
                    if todo:
                        plan.work.append(WorkUnit(codec_plan, suite, item, todo))

    def _listened(self, suite: str, item: Item) -> bool:
        """Whether the run keeps this item's audio (the first `listen` items of each suite)."""
        if not self.config.listen:
            return False
        return item.id in self._listen_ids.setdefault(
            suite, {i.id for i in self._suite_items.get(suite, [])[: self.config.listen]}
        )

    def _missing_clips(self, plan: CodecPlan, suite: str, item: Item) -> set[int]:
        """Depths of a kept item whose clip is not on disk: computed again (same rows) so that adding --listen
        to a finished run keeps the audio it asks for instead of ignoring the flag."""
        if not self._listened(suite, item):
            return set()
        writer = ListeningWriter(self.config.out)
        return {d for d in listen_depths(plan.depths) if not writer.has(suite, item.id, plan.name, d)}

    def execute(self, plan: RunPlan) -> RunSummary:
        """Compute the plan's work units, storing each row as it is made; returns the plan's summary, filled.

        The run folder is locked meanwhile (`store.run_lock`): a second run on it stops before computing."""
        check_run_folder(self.config.out)  # it may have changed since the plan
        with run_lock(self.config.out):
            return self._execute(plan)

    def _execute(self, plan: RunPlan) -> RunSummary:
        cfg, summary = self.config, plan.summary
        for name, items in plan.items.items():
            _write_problems(cfg.out / f"problems-{name}.jsonl", plan.problems[name])
            hashes = {item.id: plan.hashes[(name, item.id)] for item in items}
            write_manifest(cfg.out / f"manifest-{name}.jsonl", name, items, hashes)
        with ResultStore(cfg.out / "results.sqlite") as store:
            config = cfg.to_dict() | {"asr_resolved": summary.asr}
            provenance = collect(self.device) | {
                "resampler": RESAMPLER,
                "codecs": summary.codec_info,
                "metrics": [m.spec.to_dict() for m in self.metrics],
                "asr_model_sha256": {p.name: p.resolve_model()[1] for p in plan.profiles.values()},
                "unavailable_codecs": summary.unavailable,
                "batch_size": cfg.batch_items,
            }
            if cfg.batch_items > 1:
                provenance["batching"] = {
                    p.name: "padded" if p.info.get("batch_exact") else "equal-length" for p in plan.codecs
                }
            invocation = store.log_invocation(config, provenance)
            write_json(cfg.out / "config.json", config)
            write_json(cfg.out / "provenance.json", provenance)

            workers = cfg.workers if cfg.workers is not None else default_workers(self.device.type)
            pool = MetricPool(cfg.metrics, workers) if workers and self.metrics else None
            pending: deque[tuple[ResultRow, ScoringJob | None]] = deque()

            def store_row(row: ResultRow, job: ScoringJob | None) -> None:
                if job is not None:
                    with self.clock.stage("metrics (waiting for workers)"):
                        row.payload["metrics"], row.payload["metric_failures"] = pool.result(job)
                with self.clock.stage("store"):
                    store.put(row)
                summary.computed += 1
                summary.failed += row.status == "failed"
                bar.update(1)

            with (
                tqdm(total=plan.rows_to_compute, desc="evaluating", unit="row", disable=None) as bar,
                pool or contextlib.nullcontext(),
            ):
                codec: Codec | None = None
                loaded_for: str | None = None
                for group in work_groups(plan.work, cfg.batch_items):
                    unit = group[0]
                    # Work is ordered codec by codec, so each codec is loaded once.
                    if loaded_for != unit.codec.name:
                        codec, loaded_for = None, None
                        with self.clock.stage("load codec"):
                            codec = self._load_codec(unit.codec)
                        loaded_for = unit.codec.name
                        record_codec_facts(cfg.out, codec)
                    more = f" +{len(group) - 1}" if len(group) > 1 else ""
                    bar.set_postfix_str(f"{unit.codec.name} {unit.suite} {unit.item.id}{more}")
                    pending.extend(self._evaluate_group(codec, group, plan.profiles[unit.suite], store, pool))
                    # Store rows whose scores are in, in order; hold at most a few rows per worker in memory.
                    while pending and (
                        pending[0][1] is None
                        or pending[0][1].future.done()
                        or len(pending) > MAX_PENDING_ROWS
                    ):
                        store_row(*pending.popleft())
                while pending:
                    store_row(*pending.popleft())
            store.finish_invocation(invocation, summary.computed, summary.reused)
        return summary

    def _needs(self, store: ResultStore, key: str) -> bool:
        status = store.status_of(key)
        return status is None or (status == "failed" and self.config.retry_failed)

    # ---- evaluating a group of items: read, encode, decode each depth, score, transcribe -----------------
    def _evaluate_group(
        self,
        codec: Codec,
        units: list[WorkUnit],
        profile: AsrProfile,
        store: ResultStore,
        pool: MetricPool | None = None,
    ) -> Iterable[tuple[ResultRow, ScoringJob | None]]:
        """The rows of a group of work units (one codec and suite, up to `batch_items` items), each with its
        pending scoring job when the signal metrics run in the pool (the row's metrics are filled in when the
        job is done) or None when the row is complete. A group of one is today's item-by-item evaluation."""
        plan = units[0].codec
        coder = BatchCoder(
            codec, device=self.device, clock=self.clock, batch_items=self.config.batch_items,
            timing_repeats=self.config.timing_repeats,
            padded=bool(plan.info.get("batch_exact")) and len(units) > 1,
        )  # fmt: skip
        inputs: list[Input] = []
        for unit in units:
            try:
                with self.clock.stage("read and resample"):
                    inputs.append(self._read(unit, codec))
            except Exception as exc:
                yield from _failed_rows(unit, unit.todo, profile.name, "load", exc)
        encoded: list[Encoded] = []
        for source, result in zip(inputs, coder.encode_all(inputs), strict=True):
            if isinstance(result, Exception):
                yield from _failed_rows(source.unit, source.unit.todo, profile.name, "encode", result)
            else:
                self._keep_codes_and_original(store, result)
                encoded.append(result)
        heard: list[_Heard] = []
        for depth in sorted({d for e in encoded for d in e.unit.todo}):
            members = [e for e in encoded if depth in e.unit.todo]
            for enc, result in zip(members, coder.decode_all(members, depth), strict=True):
                try:
                    if isinstance(result, Exception):
                        raise result
                    heard.append(self._score(codec, enc, depth, result, profile, pool))
                except Exception as exc:
                    yield from _failed_rows(
                        enc.unit, {depth: enc.unit.todo[depth]}, profile.name, "decode", exc
                    )
        yield from self._transcribe_all(heard, profile)

    def _read(self, unit: WorkUnit, codec: Codec) -> Input:
        """The item's audio, its 16 kHz reference for scoring and its waveform at the codec's rate."""
        data, sr = load_audio(unit.item.audio_path)
        original = torch.from_numpy(data)[None, None]
        reference16 = resample(original, sr, ASR_SAMPLE_RATE)[0, 0].numpy()
        wav = resample(original, sr, codec.sample_rate).to(self.device)
        return Input(unit, data, sr, reference16, wav)

    def _keep_codes_and_original(self, store: ResultStore, enc: Encoded) -> None:
        """Store a token codec's codes (for codebook usage in reports, not for scoring) and keep the original
        audio of a listened item."""
        unit = enc.unit
        if codes_are_tokens(unit.codec.info):
            store.put_codes(
                unit.codec.name, unit.suite, unit.item.id, unit.codec.weights_id,
                enc.codes[0].detach().cpu().numpy(),
            )  # fmt: skip
        listener = ListeningWriter(self.config.out) if self._listened(unit.suite, unit.item) else None
        if listener is not None and not listener.has(unit.suite, unit.item.id, None, None):
            listener.write(unit.suite, unit.item.id, None, None, enc.source.data, enc.source.sr)

    def _score(
        self,
        codec: Codec,
        enc: Encoded,
        depth: int,
        decoded: Decoded,
        profile: AsrProfile,
        pool: MetricPool | None,
    ) -> _Heard:
        """Decoded audio at 16 kHz on the reference's grid, kept for listening, its signal metrics scored (or
        handed to the pool), and its row's payload but the transcript. Raises on non-finite audio."""
        unit, source = enc.unit, enc.source
        with self.clock.stage("resample decoded"):
            degraded = resample(decoded.audio.detach().float().cpu(), codec.sample_rate, ASR_SAMPLE_RATE)
            degraded16 = match_length(degraded, source.reference16.shape[-1])[0, 0].numpy()
        if not np.isfinite(degraded16).all():
            raise ValueError("decoded audio contains NaN or infinite samples")
        if self._listened(unit.suite, unit.item) and depth in listen_depths(unit.codec.depths):
            ListeningWriter(self.config.out).write(
                unit.suite, unit.item.id, unit.codec.name, depth,
                decoded.audio[0, 0].detach().float().cpu().numpy(), codec.sample_rate,
            )  # fmt: skip
        scored = depth in unit.codec.signal_depths and bool(self.metrics)
        reference16 = source.reference16
        with self.clock.stage("metrics (handing to workers)"):
            job = pool.submit(reference16, degraded16) if scored and pool is not None else None
        scores, metric_failures = (
            score_all(self.metrics, reference16, degraded16, self.clock)
            if scored and pool is None
            else ({}, {})
        )
        payload = _base_payload(unit, profile.name) | {
            "metrics": scores,
            "metric_failures": metric_failures,
            "signal_metrics": [m.name for m in self.metrics] if scored else [],
            "audio_s": source.samples / codec.sample_rate,
            "encode_s": enc.time.median_s,
            "encode_runs_s": list(enc.time.runs_s),
            "decode_s": decoded.time.median_s,
            "decode_runs_s": list(decoded.time.runs_s),
            "bitrate": codec.bitrate(depth),
            "num_codes": int(enc.codes[:, :depth].numel()),
            "speaker": unit.item.speaker,
            "device": str(self.device),
            "batch_size": enc.batch_size,
        }
        if enc.ssl_time is not None:  # included in encode_s; timed alone once more to split it out
            payload |= {"ssl_s": enc.ssl_time.median_s, "ssl_runs_s": list(enc.ssl_time.runs_s)}
        if self.config.batch_items > 1:  # a one-item run's rows stay as they always were
            payload |= {
                "batch_mode": "padded" if unit.codec.info.get("batch_exact") else "equal-length",
                "decode_batch_size": decoded.batch_size,
            }
        return _Heard(unit, depth, degraded16, payload, job)

    def _transcribe_all(
        self, heard: list[_Heard], profile: AsrProfile
    ) -> Iterable[tuple[ResultRow, ScoringJob | None]]:
        """The decoded depths of each item of the group through the ASR in one batched call per item
        (faster-whisper's batched pipeline), as an unbatched run makes it; an item's failure fails only its rows.

        Not one call across items: CTranslate2's batched beam search is not invariant to which clips share a
        call (float order), and on poor audio, where the ASR sits on a near-tie, that flips words: measured on
        the shipped dac mini at depths 1-3, 5 of 20 transcripts of a 3-item call differed from per-item calls.
        Batching items would then change stored numbers that the row keys do not cover."""
        units = list({id(h.unit): h.unit for h in heard}.values())
        for unit in units:
            rows = [h for h in heard if h.unit is unit]
            try:
                transcripts = self._transcribe(rows, profile, unit.item.language)
            except Exception as exc:
                keys = {h.depth: h.key for h in rows}
                yield from _failed_rows(unit, keys, profile.name, "asr", exc)
                continue
            for h, transcript in zip(rows, transcripts, strict=True):
                h.payload["transcript"] = transcript
                yield h.row(), h.job

    def _transcribe(self, rows: list[_Heard], profile: AsrProfile, language: str) -> list[str]:
        transcriber = self.transcriber(profile)
        with self.clock.stage("asr"):
            return transcriber.transcribe_batch([h.audio16 for h in rows], language)


@dataclass
class _Heard:
    """A decoded depth ready for the ASR: its 16 kHz audio and its row's payload, short of the transcript."""

    unit: WorkUnit
    depth: int
    audio16: np.ndarray
    payload: dict[str, Any]
    job: ScoringJob | None

    @property
    def key(self) -> str:
        return self.unit.todo[self.depth]

    def row(self) -> ResultRow:
        u = self.unit
        return ResultRow(self.key, u.codec.name, u.suite, u.item.id, self.depth, "ok", None, self.payload)


def _base_payload(unit: WorkUnit, asr: str) -> dict[str, Any]:
    return {"text": unit.item.text, "language": unit.item.language, "asr": asr}


def _failed_rows(
    unit: WorkUnit, keys: dict[int, str], asr: str, stage: str, exc: BaseException
) -> Iterable[tuple[ResultRow, None]]:
    """One failure row per depth in `keys`, with the stage and the reason; the run goes on."""
    reason = f"{stage}: {type(exc).__name__}: {exc}".splitlines()[0][:500]
    base = _base_payload(unit, asr)
    for depth, key in keys.items():
        yield ResultRow(key, unit.codec.name, unit.suite, unit.item.id, depth, "failed", reason, base), None


def work_groups(work: list[WorkUnit], size: int) -> list[list[WorkUnit]]:
    """Consecutive work units of one codec and suite in groups of at most `size`, in order."""
    groups: list[list[WorkUnit]] = []
    for unit in work:
        last = groups[-1] if groups else None
        if last and len(last) < size and (last[0].codec.name, last[0].suite) == (unit.codec.name, unit.suite):
            last.append(unit)
        else:
            groups.append([unit])
    return groups


def _write_problems(path: Path, problems: list[Any]) -> None:
    """The dataset rows a suite could not turn into items, with the reason, beside the manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for p in problems:
            f.write(json.dumps({"where": str(p.where), "reason": str(p.reason)}) + "\n")


def record_codec_facts(folder: Path, codec: Codec) -> None:
    """Add what only a loaded codec knows (parameter count, precision) to the run's codecs.json."""
    path = Path(folder) / CODEC_FACTS
    facts = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    facts[codec.name] = {"parameters": codec.parameter_count(), "precision": codec.precision}
    write_json(path, facts)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    tmp.replace(path)
