"""Numbers that papers report, as data: one JSON file per paper under `leaderboards/published/`.

A claim is one cell of a paper's table (model, suite, metric, depth, value in the paper's units) together with
the protocol it was measured under (ASR model, text normalizer, WER averaging, metric sample rate, whether the
weights were trained by the authors or released ones, training updates, hardware for speed). The protocol is
what decides whether a number measured here can be held against it (`hybridbench verify`), so every field is
required and "not stated" is a value of its own, never a silent default. The format is described in
`leaderboards/published/README.md`; `load_published` refuses a malformed file with one line naming the file
and the field, so a typo never turns into a wrong comparison.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridbench.errors import HybridbenchError

FORMAT_VERSION = 1
NOT_STATED = "not stated"
# In a source checkout; an installed package has no leaderboards/ folder (pass a folder to `load_all`).
PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "leaderboards" / "published"
_HINT = "see leaderboards/published/README.md for the format"

# Each metric's unit, fixed: a claim must spell it, so a WER written as a fraction cannot pass as a percentage.
# `pesq` is PESQ of an unstated band and `speaker-sim` a speaker similarity of an unstated embedding model:
# recorded as the paper gives them, comparable with nothing measured here.
METRIC_UNITS = {
    "wer": "%",
    "cer": "%",
    "pesq-wb": "MOS-LQO",
    "pesq-nb": "MOS-LQO",
    "pesq": "MOS-LQO",
    "stoi": "0-1",
    "estoi": "0-1",
    "speaker-sim": "cosine",
    "speaker-sim-wavlm": "cosine",
    "speaker-sim-resemblyzer": "cosine",
    "utmos": "MOS",
    "rtf": "x real time",
}
AVERAGINGS = ("corpus", "utterance", NOT_STATED)
WEIGHTS = ("trained", "public", NOT_STATED)
_PROTOCOL_FIELDS = (
    "asr_model",
    "normalizer",
    "averaging",
    "sample_rate",
    "weights",
    "training_updates",
    "hardware",
)
_SUITE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")


@dataclass(frozen=True)
class Citation:
    title: str
    authors: tuple[str, ...]
    venue: str | None
    arxiv: str | None
    url: str | None

    def short(self) -> str:
        where = ", ".join(x for x in (self.venue, self.arxiv and f"arXiv {self.arxiv}") if x)
        return f"{self.title} ({where})"


@dataclass(frozen=True)
class ClaimProtocol:
    """How the paper measured a claim; each field a value or NOT_STATED."""

    asr_model: str  # e.g. "whisper-large-v3"
    normalizer: str  # a hybridbench normalizer name (metrics.normalize.NAMED) or the paper's own words
    averaging: str  # WER over items: corpus rate or mean of per-utterance rates
    sample_rate: int | str  # the rate the metrics were computed at
    weights: (
        str  # "trained": by the paper's authors (their model or a retrained baseline); "public": released
    )
    training_updates: int | str
    hardware: str  # for speed claims

    def stated(self, field: str) -> bool:
        return getattr(self, field) != NOT_STATED


@dataclass(frozen=True)
class Claim:
    model: str  # as the paper names it, e.g. "DAC (Distill)"
    suite: str  # a hybridbench suite name, e.g. "librispeech-test-clean"
    metric: str  # a key of METRIC_UNITS
    depth: int  # codebooks decoded: RVQ-1 -> 1, RVQ-1:12 -> 12
    value: float  # in the paper's units (`unit`): WER in %
    unit: str
    table: str  # where in the paper
    protocol: ClaimProtocol
    note: str | None
    citation: Citation
    source: str  # where the number was read (the paper, or a digest of it)

    @property
    def pesq_band(self) -> str | None:
        """The band of a PESQ claim ("wb", "nb" or NOT_STATED, from the metric name); None for other metrics."""
        if not self.metric.startswith("pesq"):
            return None
        return {"pesq-wb": "wb", "pesq-nb": "nb"}.get(self.metric, NOT_STATED)

    @property
    def label(self) -> str:
        return f"{self.model} {self.metric}@{self.depth} {self.suite}"


@dataclass(frozen=True)
class PublishedPaper:
    path: Path
    citation: Citation
    source: str
    claims: tuple[Claim, ...]


def load_all(folder: str | Path = PUBLISHED_DIR) -> list[PublishedPaper]:
    """Every `*.json` in `folder`, validated, in file-name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HybridbenchError(f"{folder} is not a folder of published claims", _HINT)
    return [load_published(path) for path in sorted(folder.glob("*.json"))]


def load_published(path: str | Path) -> PublishedPaper:
    """Read and validate one paper's file; a malformed one is a one-line HybridbenchError naming the field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HybridbenchError(f"{path}: no such claims file", _HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HybridbenchError(f"{path}: cannot read ({exc})", _HINT) from None
    except json.JSONDecodeError as exc:
        raise HybridbenchError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})", _HINT) from None
    return _Reader(path).paper(data)


class _Reader:
    """Validation of one file; every error names the file and the dotted path of the field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> HybridbenchError:
        return HybridbenchError(f"{self.path}: {where}: {problem}", _HINT)

    def obj(self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object, got {type(value).__name__}")
        for key in value:
            if key not in required and key not in optional:
                raise self.fail(f"{where}.{key}", f"unknown field (known: {', '.join(required + optional)})")
        for key in required:
            if key not in value:
                raise self.fail(f"{where}.{key}", "missing")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty string")
        if "\n" in value:
            raise self.fail(where, "must be one line")
        return value

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(where, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def count_or_not_stated(self, value: Any, where: str) -> int | str:
        if value == NOT_STATED:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(where, f"must be a positive integer or {NOT_STATED!r}, got {value!r}")
        return value

    def paper(self, data: Any) -> PublishedPaper:
        top = self.obj(data, "$", ("format", "paper", "source", "protocol", "claims"))
        if top["format"] != FORMAT_VERSION:
            raise self.fail("format", f"must be {FORMAT_VERSION}, got {top['format']!r}")
        citation = self.citation(top["paper"])
        source = self.text(top["source"], "source")
        defaults = self.protocol_fields(top["protocol"], "protocol", partial=False)
        claims = top["claims"]
        if not isinstance(claims, list) or not claims:
            raise self.fail("claims", "must be a non-empty list")
        parsed = tuple(
            self.claim(c, f"claims[{i}]", defaults, citation, source) for i, c in enumerate(claims)
        )
        seen: dict[tuple, int] = {}
        for i, c in enumerate(parsed):
            key = (c.model, c.suite, c.metric, c.depth, c.protocol)
            if key in seen:
                raise self.fail(f"claims[{i}]", f"repeats claims[{seen[key]}] ({c.label}, same protocol)")
            seen[key] = i
        return PublishedPaper(self.path, citation, source, parsed)

    def citation(self, value: Any) -> Citation:
        p = self.obj(value, "paper", ("title", "authors"), ("venue", "arxiv", "url"))
        authors = p["authors"]
        if not isinstance(authors, list) or not authors:
            raise self.fail("paper.authors", "must be a non-empty list of names")
        names = tuple(self.text(a, f"paper.authors[{i}]") for i, a in enumerate(authors))
        arxiv = self.optional_text(p.get("arxiv"), "paper.arxiv")
        if arxiv is not None and not _ARXIV_ID.match(arxiv):
            raise self.fail("paper.arxiv", f"{arxiv!r} is not an arXiv id such as 2306.06546")
        venue = self.optional_text(p.get("venue"), "paper.venue")
        if venue is None and arxiv is None:
            raise self.fail("paper", "needs a venue or an arxiv id")
        return Citation(
            self.text(p["title"], "paper.title"),
            names,
            venue,
            arxiv,
            self.optional_text(p.get("url"), "paper.url"),
        )

    def protocol_fields(self, value: Any, where: str, *, partial: bool) -> dict[str, Any]:
        p = self.obj(value, where, () if partial else _PROTOCOL_FIELDS, _PROTOCOL_FIELDS if partial else ())
        checked: dict[str, Any] = {}
        for key, v in p.items():
            at = f"{where}.{key}"
            if key == "averaging":
                checked[key] = self.choice(v, at, AVERAGINGS)
            elif key == "weights":
                checked[key] = self.choice(v, at, WEIGHTS)
            elif key in ("sample_rate", "training_updates"):
                checked[key] = self.count_or_not_stated(v, at)
            else:
                checked[key] = self.text(v, at)
        return checked

    def claim(
        self, value: Any, where: str, defaults: dict[str, Any], citation: Citation, source: str
    ) -> Claim:
        c = self.obj(
            value,
            where,
            ("model", "suite", "metric", "depth", "value", "unit", "table"),
            ("protocol", "note"),
        )
        metric = self.choice(c["metric"], f"{where}.metric", tuple(METRIC_UNITS))
        if c["unit"] != METRIC_UNITS[metric]:
            raise self.fail(
                f"{where}.unit", f"{metric} is given in {METRIC_UNITS[metric]!r}, got {c['unit']!r}"
            )
        suite = self.text(c["suite"], f"{where}.suite")
        if not _SUITE_NAME.match(suite):
            raise self.fail(f"{where}.suite", f"{suite!r} is not a suite name such as librispeech-test-clean")
        depth = c["depth"]
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise self.fail(f"{where}.depth", f"must be a positive integer (RVQ-1:12 -> 12), got {depth!r}")
        number = c["value"]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise self.fail(f"{where}.value", f"must be a non-negative number, got {number!r}")
        overrides = self.protocol_fields(c.get("protocol", {}), f"{where}.protocol", partial=True)
        return Claim(
            model=self.text(c["model"], f"{where}.model"),
            suite=suite,
            metric=metric,
            depth=depth,
            value=float(number),
            unit=c["unit"],
            table=self.text(c["table"], f"{where}.table"),
            protocol=ClaimProtocol(**(defaults | overrides)),
            note=self.optional_text(c.get("note"), f"{where}.note"),
            citation=citation,
            source=source,
        )
