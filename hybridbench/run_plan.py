"""What a run is, before it runs: its configuration, the codecs and depths it will evaluate, the rows'
cache keys, and how its items split into shards. Pure planning: nothing here loads a model or writes a row
(`runner.Runner.plan` reads the data and the store with these; `Runner.execute` computes).

Every row's key hashes every input that changes its numbers (`row_key`), so a rerun of the same configuration
reuses what is stored and any change recomputes exactly the rows it touches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from hybridbench.codecs import CODECS, Codec, DepthKind
from hybridbench.errors import HybridbenchError, WeightsNotFoundError
from hybridbench.hashing import sha256_file
from hybridbench.metrics.asr import AsrProfile
from hybridbench.suites import Item

SCHEMA_VERSION = 1
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
class CodecPlan:
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

    codec: CodecPlan
    suite: str
    item: Item
    todo: dict[int, str]


@dataclass
class RunPlan:
    """What a run will do, before it does it: the codecs and depths, the items, which rows are stored already."""

    summary: RunSummary  # unavailable codecs/suites, keys, reused rows; execution adds what it computes
    codecs: list[CodecPlan]
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


def weights_id(status_location: str | None, sha: str | None) -> str:
    if sha:
        return sha
    if status_location and Path(status_location).is_file():
        return sha256_file(Path(status_location))
    return "none"


def plan_codecs(config: RunConfig, summary: RunSummary) -> list[CodecPlan]:
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
            CodecPlan(
                name,
                cls,
                weights,
                weights_id(status.location, status.sha256),
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


def _check_requested_depths(config: RunConfig, plans: list[CodecPlan]) -> None:
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


def check_depths(depths: list[int] | None) -> None:
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
