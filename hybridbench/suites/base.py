"""The suite contract: a named, ordered list of speech items with reference transcripts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Item:
    """One utterance: where its audio is and what was said.

    `duration` is in seconds (None when the loader cannot know it without decoding the file).
    """

    id: str
    audio_path: Path
    text: str
    language: str
    speaker: str | None = None
    duration: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["audio_path"] = str(self.audio_path)
        return d


@dataclass(frozen=True)
class SuiteStatus:
    """Whether a suite's data is present here, and the command that prepares it if not."""

    available: bool
    hint: str = ""


class Suite(ABC):
    """A test set. Subclasses set `name` and `language` and implement `items`."""

    name: ClassVar[str]
    language: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, *, data_root: str | Path | None = None):
        self.data_root = Path(data_root) if data_root is not None else None

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        return SuiteStatus(available=True)

    @abstractmethod
    def items(self) -> list[Item]:
        """All items in a fixed, deterministic order (so `--limit N` always takes the same N)."""

    def problems(self) -> list[Any]:
        """Rows of the dataset that did not become items, each with `where` and `reason` (never silently lost).

        Audio that exists but cannot be read stays an item: the runner records its failure per row.
        """
        return []
