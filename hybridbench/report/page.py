"""What a report folder is made of, as values: the paper-layout tables, the plots, the tokenizer cards and the
listening clips, each with the files written for it (paths relative to the report folder). The builders
(`paper_tables`, `plots`, `cards`) make these; `html` lays them out in index.html; `build` calls them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class PaperTable:
    """One suite's table in a paper's layout: one row per codec (and the original audio, the ASR floor).

    `values` holds the numbers (written to CSV), `display` the same cells as shown (value with its interval
    and item count), with the same index and columns; `best` names the (row, column) cells marked best."""

    suite: str
    title: str
    values: pd.DataFrame
    display: pd.DataFrame
    best: set[tuple[Any, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # what the columns mean, the protocol, caveats
    files: dict[str, Path] = field(default_factory=dict)  # "md" / "csv" / "tex" -> path


@dataclass
class Plot:
    name: str  # file stem, e.g. "wer-vs-depth-librispeech-test-clean"
    title: str
    caption: str
    suite: str | None
    files: dict[str, Path] = field(default_factory=dict)  # "png" / "svg" -> path
    skipped: str | None = None  # why the figure was not drawn (the data cannot make it); files are then empty


@dataclass
class TokenizerCard:
    codec: str
    facts: dict[str, Any]  # the JSON written beside the Markdown
    markdown: str
    files: dict[str, Path] = field(default_factory=dict)  # "md" / "json" -> path


@dataclass
class ListeningRow:
    """One item in the listening panel: its original and each codec's decoding at a few depths."""

    suite: str
    item_id: str
    text: str | None
    original: Path | None
    decoded: dict[tuple[str, int], Path] = field(default_factory=dict)  # (codec, depth) -> audio path
    # What the ASR heard: (codec, depth) -> raw transcript, and the original's (the identity's) under None.
    heard: dict[tuple[str | None, int | None], str] = field(default_factory=dict)


@dataclass
class ReportPage:
    title: str
    runs: list[str]
    tables: list[PaperTable]
    plots: list[Plot]
    cards: list[TokenizerCard]
    listening: list[ListeningRow]
    provenance: dict[str, Any]  # versions, git hash, device, ASR profile, normalizer, manifest hashes
    failures: pd.DataFrame  # suite, codec, depth, item_id, what, reason
    protocols: dict[str, dict[str, Any]] = field(default_factory=dict)  # suite -> its Protocol's fields
    cards_skipped: dict[str, str] = field(default_factory=dict)  # codec -> why it has no tokenizer card
