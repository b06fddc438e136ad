"""What the dataset loaders share: finding a data root, reporting rows that cannot become items, stable hashing.

Missing or unreadable audio is never dropped by a loader. `items()` returns every row that has a transcript,
whether or not its audio decodes; the runner loads each one and records a counted failure with the reason when it
can't. Rows that cannot become an item at all (no transcript, a malformed line, a duplicate id, audio without a
transcript) are listed by the suite's `problems()` with the reason, so a reviewer sees them instead of a
silently shorter suite; so is a line that is not UTF-8, or a file that cannot be read (`read_lines`), so one
bad byte costs one row, not the suite. (The Asterisk suites are the one exception, and say why: their packages are known to
list prompts they do not ship, so such a line is a problem there, not a failing item.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hybridbench.paths import cache_dir
from hybridbench.suites.base import Item, Suite


@dataclass(frozen=True)
class Problem:
    """A row of a dataset that did not become an item, and why."""

    where: str  # the row's id, or file and line number
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class ScannedSuite(Suite):
    """A dataset suite read in one pass that yields its items and the rows that could not become items.

    Subclasses provide `_scan` as a `functools.cached_property` returning (items, problems), so the dataset is
    read once however often `items()` and `problems()` are asked for.
    """

    _scan: tuple[list[Item], list[Problem]]

    def items(self) -> list[Item]:
        return list(self._scan[0])

    def problems(self) -> list[Problem]:
        """Rows of the dataset that did not become items, with the reason."""
        return list(self._scan[1])


def read_lines(path: Path, source: str) -> tuple[list[tuple[int, str]], list[Problem]]:
    """A text file's lines as (line number, text), decoded as UTF-8, and the lines that could not be.

    A line that is not UTF-8 (a transcript saved as Latin-1, a stray byte) becomes a Problem at `source:line`
    instead of a UnicodeDecodeError that would stop every other row of the suite; a file that cannot be read at
    all is one Problem. A UTF-8 byte-order mark (Windows editors write one) is dropped: kept, it would be glued
    invisibly to the first line's id and path. Lines are split at "\n" (a "\r" before it is dropped), so the
    line numbers are the ones an editor shows whatever the bytes on the other lines are.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [Problem(source, f"cannot read the file: {exc.strerror or exc}")]
    lines: list[tuple[int, str]] = []
    problems: list[Problem] = []
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line does not start another one
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.removesuffix(b"\r").decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    f"{source}:{lineno}",
                    f"line is not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line); "
                    "re-save the file as UTF-8",
                )
            )
            continue
        lines.append((lineno, text))
    return lines, problems


def candidate_roots(explicit: str | Path | None, env_var: str, *defaults: Path) -> list[Path]:
    """The folders a suite looks in, in order: `--data-root`, `$env_var`, then the defaults.

    The first one that holds the data wins. `--data-root` is shared by every suite of a run, so a suite whose
    data is not under it still finds its own (an installed package, its env var, the download cache).
    The first entry is also where `hybridbench data prepare` puts what it downloads.
    """
    roots = []
    if explicit is not None:
        roots.append(Path(explicit).expanduser())
    if os.environ.get(env_var):
        roots.append(Path(os.environ[env_var]).expanduser())
    roots.extend(defaults)
    return list(dict.fromkeys(roots))  # drop repeats, keep order


def default_data_dir(*parts: str) -> Path:
    """Where `hybridbench data prepare` unpacks downloads: `$HYBRIDBENCH_CACHE/data/...`."""
    return cache_dir("data").joinpath(*parts)


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by `key` alone, identical on every machine and Python version.

    Python's `hash()` is salted per process, so splits and subsets use SHA-256 instead.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def deterministic_subset(keys: Iterable[str], size: int) -> set[str]:
    """The `size` keys with the smallest `stable_fraction`: the same subset on every machine, and nested
    (the subset of 100 is inside the subset of 200 of the same keys)."""
    return set(sorted(set(keys), key=lambda k: (stable_fraction(k), k))[:size])
