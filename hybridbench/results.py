"""Open run folders from Python (a notebook, a script, the report): per-item rows and aggregated tables as pandas
DataFrames, with the configuration, provenance, stored codes and kept audio beside them.

    from hybridbench.results import open_run
    run = open_run("runs/my-run")
    run.items      # one line per (suite, codec, depth, item): transcripts, edit counts, scores, timings
    run.summary    # one line per (suite, codec, depth): corpus WER/CER and metric means with 95 % intervals

Several folders open as one (`open_runs`): their rows are joined (a row stored in several folders counts
once, by key), so runs of different codecs on the same suites read as one comparison. Nothing here computes a
codec or an ASR: every number comes from the stored rows (see `report.aggregate` for the aggregation rules).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridbench.errors import HybridbenchError
from hybridbench.listening import LISTEN_INDEX
from hybridbench.report.aggregate import item_frame, summarize
from hybridbench.runner import CODEC_FACTS
from hybridbench.store import ResultRow, ResultStore

STORE_NAME = "results.sqlite"


@dataclass(frozen=True)
class ListeningClip:
    """One kept audio file: the original of an item (`codec` None) or a codec's decoding at one depth."""

    suite: str
    item_id: str
    codec: str | None
    depth: int | None
    path: Path  # absolute
    sample_rate: int


@dataclass
class RunResults:
    folders: list[Path]
    configs: list[dict[str, Any]]
    provenances: list[dict[str, Any]]
    rows: list[ResultRow] = field(repr=False)

    # ---- what was run -------------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The first folder's configuration (the only one for a single run)."""
        return self.configs[0]

    @property
    def provenance(self) -> dict[str, Any]:
        return self.provenances[0]

    @property
    def metric_names(self) -> list[str]:
        """Signal metrics of every run, in first-seen order."""
        names: dict[str, None] = {}
        for config in self.configs:
            names.update(dict.fromkeys(config.get("metrics", [])))
        return list(names)

    @property
    def suites(self) -> list[str]:
        return list(dict.fromkeys(r.suite for r in self.rows))

    @property
    def codecs(self) -> list[str]:
        return list(dict.fromkeys(r.codec for r in self.rows))

    def asr(self, suite: str) -> dict[str, Any]:
        """The ASR profile (name, model, beam size, temperature, normalizer) the run used on `suite`."""
        for config in self.configs:
            found = config.get("asr_resolved", {}).get(suite)
            if found:
                return found
        return {}

    def codec_info(self, codec: str) -> dict[str, Any]:
        """The codec's declared facts (CodecInfo) as stored by the run, with what only a loaded codec knows
        (parameters, precision) where the run recorded it."""
        info: dict[str, Any] = {}
        for folder, provenance in zip(self.folders, self.provenances, strict=True):
            info = provenance.get("codecs", {}).get(codec, {}) | info
            facts = _read_json(folder / CODEC_FACTS, default={}).get(codec)
            if facts:
                info = info | facts
        return info

    # ---- the numbers --------------------------------------------------------------------------------------
    @cached_property
    def items(self) -> pd.DataFrame:
        """One line per stored row (see `report.aggregate.item_frame`)."""
        return item_frame(self.rows)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One line per (suite, codec, depth) (see `report.aggregate.summarize`)."""
        if not self.rows:
            return pd.DataFrame()
        return summarize(self.items, self.metric_names)

    def failures(self) -> pd.DataFrame:
        """Every failure with its reason: rows that failed (stage: reason) and metrics that could not score a
        row; columns suite, codec, depth, item_id, what (`row` or the metric's name), reason."""
        records = []
        for r in self.rows:
            if r.status == "failed":
                records.append((r.suite, r.codec, r.depth, r.item_id, "row", r.error))
            else:
                for metric, reason in r.payload.get("metric_failures", {}).items():
                    records.append((r.suite, r.codec, r.depth, r.item_id, metric, reason))
        return pd.DataFrame.from_records(
            records, columns=["suite", "codec", "depth", "item_id", "what", "reason"]
        )

    # ---- stored artefacts ---------------------------------------------------------------------------------
    def codes(self, codec: str, suite: str) -> dict[str, np.ndarray]:
        """item id -> the full-depth codes [Q, F] the run stored for `codec` on `suite` (empty for runs made
        before codes were stored)."""
        found: dict[str, np.ndarray] = {}
        for folder in self.folders:
            with ResultStore(folder / STORE_NAME) as store:
                found.update(store.codes(codec, suite))
        return found

    def listening(self) -> list[ListeningClip]:
        """The audio the run kept for listening (`hybridbench run --listen N`), originals first."""
        clips: dict[tuple[str, str, str | None, int | None], ListeningClip] = {}
        for folder in self.folders:
            index = folder / LISTEN_INDEX
            if not index.exists():
                continue
            for line in index.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                rec = json.loads(line)
                path = folder / rec["path"]
                if not path.exists():
                    continue
                clip = ListeningClip(
                    rec["suite"], rec["item_id"], rec.get("codec"), rec.get("depth"), path, rec["sample_rate"]
                )
                clips[(clip.suite, clip.item_id, clip.codec, clip.depth)] = clip
        return sorted(
            clips.values(),
            key=lambda c: (c.suite, c.item_id, c.codec is not None, c.codec or "", c.depth or 0),
        )


def open_run(folder: str | Path) -> RunResults:
    """Open one run folder (made by `hybridbench run` or `hybridbench merge`)."""
    return open_runs([folder])


def open_runs(folders: Iterable[str | Path]) -> RunResults:
    """Open several run folders as one set of rows (a row stored in several folders counts once)."""
    paths = [Path(f) for f in folders]
    if not paths:
        raise HybridbenchError("no run folder given", "pass the folder(s) given to `hybridbench run --out`")
    rows: dict[str, ResultRow] = {}
    configs, provenances = [], []
    for folder in paths:
        store = folder / STORE_NAME
        if not store.is_file():
            raise HybridbenchError(
                f"{folder} is not a run folder (no {STORE_NAME})",
                "pass the folder given to `hybridbench run --out`",
            )
        with ResultStore(store) as s:
            for row in s.rows():
                rows.setdefault(row.key, row)
        configs.append(_read_json(folder / "config.json", default={}))
        provenances.append(_read_json(folder / "provenance.json", default={}))
    return RunResults(paths, configs, provenances, list(rows.values()))


def _read_json(path: Path, *, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HybridbenchError(f"cannot read {path} ({exc})", "rerun the run command to rewrite it") from None
