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
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hybridbench.audio import RESAMPLER, load_audio, resample
from hybridbench.codecs import CODECS, Codec, DepthKind, codes_are_tokens, match_length
from hybridbench.codecs.batching import equal_length_groups, frames_for, pad_to_longest
from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridbench.hashing import sha256_file
from hybridbench.listening import ListeningWriter, listen_depths
from hybridbench.metric_pool import MetricPool, ScoringJob, default_workers, score_all
from hybridbench.metrics import METRICS, Metric
from hybridbench.metrics.asr import ASR_SAMPLE_RATE, AsrChoice, AsrProfile, Transcriber
from hybridbench.provenance import collect
from hybridbench.store import ResultRow, ResultStore, check_run_folder, run_lock
from hybridbench.suites import SUITES, Item
from hybridbench.timing import StageClock, Timed, timed

SCHEMA_VERSION = 1
# Rows waiting for their signal metrics before the runner stops decoding to wait for the oldest.
MAX_PENDING_ROWS = 64
CODEC_FACTS = "codecs.json"  # what only a loaded codec knows (parameters, precision), per codec
REFERENCE_CODEC = "identity"


@dataclass
class RunConfig:
    codecs: list[str]
    suites: list[str]
    out: Path
    depths: list[int] | None = None  # None: every depth of every codec
    asr: str = "whisper-tiny.en"
    limit: int | dict[str, int] | None = None  # first N items of each suite, or per suite ("*": the others)
    device: str = "cpu"
    weights: dict[str, str] = field(default_factory=dict)
    data_root: str | None = None
    metrics: list[str] = field(default_factory=lambda: ["pesq-wb", "stoi"])
    timing_repeats: int = 3
    retry_failed: bool = False
    include_reference: bool = True  # add the identity codec: the ASR floor belongs beside every codec
    skip_unavailable: bool = False  # list codecs without weights and suites without data instead of failing
    # Also score each residual codec's full depth when --depths does not reach it. A simulcast codec (Opus,
    # AMR-NB: depth k is a separate bitrate, not more codes on the same stream) has no "full depth" to add.
    include_full_depth: bool = False
    # Codecs whose signal metrics are computed at their full depth only; ASR still runs at every depth. The
    # leaderboard shows signal metrics only there, and DNSMOS alone costs seconds a row on a small CPU.
    signal_full_depth_only: list[str] = field(default_factory=list)
    # (index, count): compute only the items whose key falls in shard `index` of `count` (shard_of); every
    # shard of one configuration together computes each row exactly once (`hybridbench merge` joins them).
    shard: tuple[int, int] | None = None
    # Keep the decoded audio of the first N items of each suite (and their originals) for listening, at a few
    # depths per codec (`listen_depths`); 0 keeps none.
    listen: int = 0
    # Processes scoring the signal metrics beside the codec and ASR work (metric_pool); None: the default for
    # the device (none on a CPU, where they would share the cores the codec is timed on).
    workers: int | None = None
    # Items of one codec and suite encoded and decoded together, up to this many: one zero-padded
    # batch for a codec declaring `batch_exact`, equal-length batches for the others (codecs/batching.py).
    # Each row records its real batch size; its encode/decode time is its batch's, shared by audio samples.
    batch_items: int = 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d

    def limit_for(self, suite: str) -> int | None:
        """How many items of `suite` to take (None: all)."""
        if isinstance(self.limit, dict):
            return self.limit.get(suite, self.limit.get("*"))
        return self.limit


def parse_limit(value: str | None) -> int | dict[str, int] | None:
    """`N` -> N; `suite=N,...,*=N` -> {suite: N} (`*`: every other suite); None/empty -> None (all items)."""
    if not value:
        return None
    given: dict[str, int] = {}
    try:
        for part in value.split(","):
            name, sep, n = part.strip().rpartition("=")
            given[name.strip() if sep else "*"] = int(n)
    except ValueError:
        raise HybridbenchError(
            f"invalid --limit {value!r}", "use N, or suite=N pairs such as asterisk-en-test=30,*=10"
        ) from None
    if any(n < 1 for n in given.values()):
        raise HybridbenchError("--limit must be at least 1")
    return given["*"] if set(given) == {"*"} else given


def describe_limit(limit: int | dict[str, int] | None) -> str:
    """'all items', 'first 3 items per suite', or 'first 10 items of asterisk-en-test, 3 of the others'."""
    if limit is None:
        return "all items"
    if isinstance(limit, int):
        return f"first {limit} items per suite"
    named = [f"{n} of {s}" for s, n in limit.items() if s != "*"]
    rest = [f"{limit['*']} of the others"] if "*" in limit else ["all of the others"]
    return "first " + ", ".join(named + rest)


@dataclass
class RunSummary:
    computed: int = 0
    reused: int = 0
    failed: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)  # codec -> how to get its weights
    unavailable_suites: dict[str, str] = field(default_factory=dict)  # suite -> how to prepare its data
    keys: list[str] = field(default_factory=list)
    codec_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    asr: dict[str, dict[str, Any]] = field(default_factory=dict)  # suite -> resolved ASR profile
    problems: dict[str, int] = field(default_factory=dict)  # suite -> dataset rows that did not become items


@dataclass(frozen=True)
class _CodecPlan:
    name: str
    cls: type[Codec]
    weights: str | None
    weights_id: str
    depths: tuple[int, ...]
    signal_depths: frozenset[int]  # the depths whose decoded audio gets the signal metrics
    info: dict[str, Any]
    valid_depths: tuple[int, ...] = ()  # every depth the codec decodes, whether or not this run asks for it


def shard_of(suite: str, item_id: str, count: int) -> int:
    """The shard (0..count-1) an item belongs to: a hash of its key, so every process and every node agrees
    without talking to each other, and all depths and codecs of one item stay in one shard."""
    digest = hashlib.sha256(f"{suite}\0{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """'--shard 0/4' -> (0, 4)."""
    if value is None:
        return None
    index, sep, count = value.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = None
    if not sep or shard is None or not 0 <= shard[0] < shard[1]:
        raise HybridbenchError(f"invalid --shard {value!r}", "write I/N with 0 <= I < N, e.g. --shard 0/4")
    return shard


@dataclass(frozen=True)
class WorkUnit:
    """One item of one suite for one codec, with the depths still to compute (depth -> row key)."""

    codec: _CodecPlan
    suite: str
    item: Item
    todo: dict[int, str]


@dataclass
class RunPlan:
    """What a run will do, before it does it: the codecs and depths, the items, which rows are stored already."""

    summary: RunSummary  # unavailable codecs/suites, keys, reused rows; execution adds what it computes
    codecs: list[_CodecPlan]
    items: dict[str, list[Item]]  # suite -> the items this run reads
    problems: dict[str, list[Any]]  # suite -> dataset rows that did not become items
    hashes: dict[tuple[str, str], str]  # (suite, item id) -> audio sha256
    profiles: dict[str, AsrProfile]  # suite -> ASR profile
    work: list[WorkUnit]

    @property
    def rows_to_compute(self) -> int:
        return sum(len(unit.todo) for unit in self.work)

    def table(self) -> list[dict[str, Any]]:
        """Per codec and suite: depths, items, rows planned, stored already and to compute (for --dry-run)."""
        todo: dict[tuple[str, str], int] = {}
        for unit in self.work:
            key = (unit.codec.name, unit.suite)
            todo[key] = todo.get(key, 0) + len(unit.todo)
        rows = []
        for codec in self.codecs:
            for suite, items in self.items.items():
                total = len(items) * len(codec.depths)
                left = todo.get((codec.name, suite), 0)
                rows.append(
                    {
                        "codec": codec.name, "suite": suite, "depths": ",".join(map(str, codec.depths)),
                        "items": len(items), "rows": total, "stored": total - left, "to compute": left,
                        "asr": self.profiles[suite].name,
                    }
                )  # fmt: skip
        return rows


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HybridbenchError(f"device {name!r} requested but CUDA is not available", "use --device cpu")
    return device


def item_sha256(item: Item) -> str:
    try:
        return sha256_file(Path(item.audio_path))
    except OSError as exc:
        return f"unreadable:{type(exc).__name__}"


def row_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _weights_id(status_location: str | None, sha: str | None) -> str:
    if sha:
        return sha
    if status_location and Path(status_location).is_file():
        return sha256_file(Path(status_location))
    return "none"


def plan_codecs(config: RunConfig, summary: RunSummary) -> list[_CodecPlan]:
    names = list(dict.fromkeys(config.codecs))
    if config.include_reference and REFERENCE_CODEC not in names:
        names.insert(0, REFERENCE_CODEC)
    plans = []
    for name in names:
        cls = CODECS.get(name)
        weights = config.weights.get(name)
        status = cls.weights_status(weights)
        if not status.available:
            if config.skip_unavailable:
                summary.unavailable[name] = status.hint
                continue
            raise WeightsNotFoundError(f"{name}: weights not found at {status.location}", status.hint)
        try:
            # Read here, while planning: a wrong checkpoint must stop the run before any codec computes a row.
            # An adapter whose describe() reads the checkpoint (HybridCodec) finds a wrong file now; one whose
            # describe() is static finds it only when the codec loads.
            info = cls.describe(weights)
        except HybridbenchError:
            raise
        except Exception as exc:  # another package's error type (e.g. hybridcodec's) or a plain parse error
            raise HybridbenchError(
                f"{name}: cannot read its weights at {status.location or weights}: {exc}".splitlines()[0],
                f"check --weights {name}=PATH",
            ) from None
        valid = set(info.depths)
        if config.depths is None:
            depths = tuple(sorted(valid))
        else:
            # An operating-point codec's top depth is just another bitrate, not "everything it has".
            add_full = config.include_full_depth and info.depth_kind is not DepthKind.OPERATING_POINTS
            wanted = {d for d in config.depths if d in valid} | ({max(valid)} if add_full else set())
            # A codec with no valid depth among those requested is scored at its full depth (a run that
            # requests depths no codec has is refused below, by _check_requested_depths).
            depths = tuple(sorted(wanted)) or (max(valid),)
        signal_depths = frozenset(
            {max(valid)} & set(depths) if name in config.signal_full_depth_only else depths
        )
        plans.append(
            _CodecPlan(
                name,
                cls,
                weights,
                _weights_id(status.location, status.sha256),
                depths,
                signal_depths,
                info.to_dict(),
                tuple(sorted(valid)),
            )
        )
    _check_requested_depths(config, plans)
    return plans


def _depth_list(depths: Iterable[int]) -> str:
    """1,2,3,4,8 -> '1-4,8': a codec's valid depths, short enough for a one-line error."""
    runs: list[list[int]] = []
    for d in sorted(depths):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs)


def _check_requested_depths(config: RunConfig, plans: list[_CodecPlan]) -> None:
    """Refuse requested depths that no codec of the run has, instead of quietly scoring full depths.

    The rule: each depth given to --depths must be valid for at least one codec of the run other than the
    identity reference, which is lossless and has depth 1 only: it is scored there whatever is asked (the ASR
    floor), so a run of identity alone has nothing to check. A codec that has none of the requested
    depths is still scored at its full depth beside the others, as before. With include_full_depth (a
    preset's setting) the depths are a menu written for codecs of different sizes, which --codecs may narrow to
    codecs that lack some of them, and every codec's full depth is added anyway: there only a menu of which no
    depth is valid for any codec is refused.
    """
    if config.depths is None:
        return
    named = [p for p in plans if p.name != REFERENCE_CODEC]
    if not named:  # identity alone, or every codec skipped for missing weights (the run reports that instead)
        return
    valid = {p.name: set(p.valid_depths) for p in named}
    everywhere = set().union(*valid.values())
    unknown = [d for d in config.depths if d not in everywhere]
    if not unknown or (config.include_full_depth and len(unknown) < len(config.depths)):
        return
    listed = "; ".join(f"{name}: {_depth_list(depths)}" for name, depths in valid.items())
    raise HybridbenchError(
        f"--depths {','.join(map(str, unknown))}: no codec of this run has "
        f"{'that depth' if len(unknown) == 1 else 'those depths'} (valid depths: {listed})",
        "pick depths from those lists, or --depths all",
    )


def _check_depths(depths: list[int] | None) -> None:
    if depths is not None and (not depths or min(depths) < 1):
        raise HybridbenchError(f"invalid --depths {depths}", "give positive integers, e.g. --depths 1,4,12")


def write_manifest(path: Path, suite: str, items: list[Item], hashes: dict[str, str]) -> None:
    """One JSON line per item with its file's size and sha256, so two runs can be shown to use the same data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for item in items:
            p = Path(item.audio_path)
            size = p.stat().st_size if p.is_file() else None
            f.write(
                json.dumps({"suite": suite, **item.to_dict(), "bytes": size, "sha256": hashes[item.id]})
                + "\n"
            )
    tmp.replace(path)


class Runner:
    def __init__(self, config: RunConfig):
        _check_depths(config.depths)
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
        self._transcribers: dict[str, Transcriber] = {}
        self.clock = StageClock()  # seconds per stage, for the harness benchmark
        self._suite_items: dict[str, list[Item]] = {}
        self._listen_ids: dict[str, set[str]] = {}

    # ---- lazily loaded models ---------------------------------------------------------------------------
    def transcriber(self, profile: AsrProfile) -> Transcriber:
        if profile.name not in self._transcribers:
            asr_device = "cuda" if self.device.type == "cuda" else "cpu"
            self._transcribers[profile.name] = Transcriber(profile, device=asr_device)
        return self._transcribers[profile.name]

    def _load_codec(self, plan: _CodecPlan) -> Codec:
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
                asr_id = {**profile.to_dict(), "model_sha256": self._asr_model_sha(profile)}
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

    def _missing_clips(self, plan: _CodecPlan, suite: str, item: Item) -> set[int]:
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
                "asr_model_sha256": {p.name: self._asr_model_sha(p) for p in plan.profiles.values()},
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

    def _asr_model_sha(self, profile: AsrProfile) -> str | None:
        if profile.locate is None:
            return None
        return profile.locate().sha256

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
        padded = bool(plan.info.get("batch_exact")) and len(units) > 1
        inputs: list[_Input] = []
        for unit in units:
            try:
                with self.clock.stage("read and resample"):
                    inputs.append(self._read(unit, codec))
            except Exception as exc:
                yield from _failed_rows(unit, unit.todo, profile.name, "load", exc)
        encoded: list[_Encoded] = []
        for source, result in zip(inputs, self._encode_all(codec, inputs, padded), strict=True):
            if isinstance(result, Exception):
                yield from _failed_rows(source.unit, source.unit.todo, profile.name, "encode", result)
            else:
                self._keep_codes_and_original(store, result)
                encoded.append(result)
        heard: list[_Heard] = []
        for depth in sorted({d for e in encoded for d in e.unit.todo}):
            members = [e for e in encoded if depth in e.unit.todo]
            for enc, result in zip(members, self._decode_all(codec, members, depth, padded), strict=True):
                try:
                    if isinstance(result, Exception):
                        raise result
                    heard.append(self._score(codec, enc, depth, result, profile, pool))
                except Exception as exc:
                    yield from _failed_rows(
                        enc.unit, {depth: enc.unit.todo[depth]}, profile.name, "decode", exc
                    )
        yield from self._transcribe_all(heard, profile)

    def _read(self, unit: WorkUnit, codec: Codec) -> _Input:
        """The item's audio, its 16 kHz reference for scoring and its waveform at the codec's rate."""
        data, sr = load_audio(unit.item.audio_path)
        original = torch.from_numpy(data)[None, None]
        reference16 = resample(original, sr, ASR_SAMPLE_RATE)[0, 0].numpy()
        wav = resample(original, sr, codec.sample_rate).to(self.device)
        return _Input(unit, data, sr, reference16, wav)

    def _encode_all(self, codec: Codec, inputs: list[_Input], padded: bool) -> list[_Encoded | Exception]:
        """Each input's codes, in order, or the exception its encode raised. Batches: all inputs zero-padded
        to the longest (`padded`), or else inputs of equal length; a batch that fails is retried one by one,
        so one bad item fails alone."""
        batches = (
            [list(range(len(inputs)))]
            if padded
            else equal_length_groups([i.samples for i in inputs], self.config.batch_items)
        )
        out: list[_Encoded | Exception | None] = [None] * len(inputs)
        for batch in batches:
            results = self._encode_or_retry(codec, [inputs[i] for i in batch], padded)
            for index, result in zip(batch, results, strict=True):
                out[index] = result
        return out  # type: ignore[return-value]

    def _encode_or_retry(
        self, codec: Codec, inputs: list[_Input], padded: bool
    ) -> list[_Encoded | Exception]:
        try:
            return self._encode_batch(codec, inputs, padded)
        except Exception as exc:
            if len(inputs) == 1:
                return [exc]
        return [self._encode_or_retry(codec, [one], padded)[0] for one in inputs]

    def _encode_batch(self, codec: Codec, inputs: list[_Input], padded: bool) -> list[_Encoded]:
        """One timed encode of `inputs` as a batch; each item keeps its own frames and its share of the time."""
        wav = inputs[0].wav if len(inputs) == 1 else pad_to_longest([i.wav for i in inputs])
        with self.clock.stage("encode"):
            codes, time = timed(
                lambda: codec.encode(wav), device=self.device, repeats=self.config.timing_repeats
            )
        ssl_time = self._time_ssl(codec, wav)
        trim = padded and len(inputs) > 1
        if trim and codes.shape[-1] != frames_for(codec, wav.shape[-1]):
            raise HybridbenchError(
                f"{codec.name} declares batch_exact but gave {codes.shape[-1]} frames for {wav.shape[-1]} "
                f"samples, not ceil(samples / hop) = {frames_for(codec, wav.shape[-1])}"
            )
        total = sum(i.samples for i in inputs)
        return [
            _Encoded(
                source,
                codes[j : j + 1, :, : frames_for(codec, source.samples)] if trim else codes[j : j + 1],
                codes[j : j + 1],
                _share(time, source.samples, total),
                len(inputs),
                _share(ssl_time, source.samples, total) if ssl_time is not None else None,
            )
            for j, source in enumerate(inputs)
        ]

    def _time_ssl(self, codec: Codec, wav: torch.Tensor) -> Timed | None:
        """The SSL model's share of encoding, timed alone, for codecs that run one at inference and can run it
        apart (`ssl_timed_apart`): reports split encode RTF into SSL extraction and the rest. It costs one more
        feature extraction per encode; a failure here is the encode's failure (the same model)."""
        if not type(codec).ssl_timed_apart:
            return None
        with self.clock.stage("ssl (timed apart)"):
            _, time = timed(
                lambda: codec.semantic_features(wav), device=self.device, repeats=self.config.timing_repeats
            )
        return time

    def _decode_all(
        self, codec: Codec, members: list[_Encoded], depth: int, padded: bool
    ) -> list[_Decoded | Exception]:
        """Each member's audio decoded from its first `depth` codebooks, trimmed to its own length, in order.

        Codes of equal frame count decode as one batch: the rows of one padded batch (a batch-exact codec, its
        frames past the longest member's own dropped), or items that were encoded at equal length. A batch
        that fails is retried one by one from each item's own codes."""
        out: list[_Decoded | Exception | None] = [None] * len(members)
        frames = [m.batch_codes.shape[-1] for m in members]
        for batch in equal_length_groups(frames, self.config.batch_items):
            chosen = [members[i] for i in batch]
            results = self._decode_or_retry(codec, chosen, depth, padded)
            for index, result in zip(batch, results, strict=True):
                out[index] = result
        return out  # type: ignore[return-value]

    def _decode_or_retry(
        self, codec: Codec, members: list[_Encoded], depth: int, padded: bool
    ) -> list[_Decoded | Exception]:
        try:
            return self._decode_batch(codec, members, depth, padded)
        except Exception as exc:
            if len(members) == 1:
                return [exc]
        return [self._decode_or_retry(codec, [one], depth, padded)[0] for one in members]

    def _decode_batch(
        self, codec: Codec, members: list[_Encoded], depth: int, padded: bool
    ) -> list[_Decoded]:
        """One timed decode of the members' first `depth` codebooks; each keeps its own length and time share."""
        if len(members) == 1:  # alone: its own codes, exactly the one-by-one path
            codes = members[0].codes[:, :depth]
        else:
            # Causal (batch-exact) codecs: frames past every member's own cannot change their samples.
            keep = max(m.codes.shape[-1] for m in members) if padded else members[0].batch_codes.shape[-1]
            codes = torch.cat([m.batch_codes[:, :depth, :keep] for m in members])
        with self.clock.stage("decode"):
            out, time = timed(
                lambda: codec.decode(codes), device=self.device, repeats=self.config.timing_repeats
            )
        total = sum(m.samples for m in members)
        return [
            _Decoded(match_length(out[j : j + 1], m.samples), _share(time, m.samples, total), len(members))
            for j, m in enumerate(members)
        ]

    def _keep_codes_and_original(self, store: ResultStore, enc: _Encoded) -> None:
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
        enc: _Encoded,
        depth: int,
        decoded: _Decoded,
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


@dataclass(frozen=True)
class _Input:
    """An item read once: its original audio, the 16 kHz reference it is scored against, and the waveform
    [1, 1, T] at the codec's rate on the run's device."""

    unit: WorkUnit
    data: np.ndarray
    sr: int
    reference16: np.ndarray
    wav: torch.Tensor

    @property
    def samples(self) -> int:
        return self.wav.shape[-1]


@dataclass(frozen=True)
class _Encoded:
    """An item's codes: its own frames (`codes`, what it gets encoded alone; stored and counted) and its row of
    the batch it was encoded in (`batch_codes`, what a batch decodes), with its share of the batch's time."""

    source: _Input
    codes: torch.Tensor  # [1, Q, F_i]
    batch_codes: torch.Tensor  # [1, Q, F_batch]
    time: Timed
    batch_size: int
    ssl_time: Timed | None = None  # the SSL model's part of `time`, for codecs that time it apart

    @property
    def unit(self) -> WorkUnit:
        return self.source.unit

    @property
    def samples(self) -> int:
        return self.source.samples


@dataclass(frozen=True)
class _Decoded:
    audio: torch.Tensor  # [1, 1, T_i] at the codec's rate
    time: Timed  # this item's share of its decode batch's time
    batch_size: int


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


def _share(time: Timed, samples: int, total: int) -> Timed:
    """An item's part of a batch's time: the batch's time in proportion to the item's audio samples."""
    fraction = samples / total
    return Timed(time.median_s * fraction, tuple(run * fraction for run in time.runs_s))


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
