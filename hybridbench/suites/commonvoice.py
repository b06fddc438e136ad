"""Common Voice French in its release layout (the paper's zero-shot cross-lingual test set).

Layout of a Common Voice release (https://commonvoice.mozilla.org/datasets), e.g. `cv-corpus-17.0-2024-03-15/`:

    fr/test.tsv, fr/dev.tsv, fr/train.tsv, ...   tab-separated, with a header; columns used: client_id, path,
                                                  sentence (others, like up_votes or locale, vary by release)
    fr/clips/*.mp3                                the recordings (MP3, 32 or 48 kHz)
    fr/clip_durations.tsv                         "clip<TAB>duration[ms]" (releases since 2022; optional here)

The data is looked for under `--data-root`, then `$HYBRIDBENCH_COMMONVOICE`, then `$HYBRIDBENCH_CACHE/data`; each
may hold release folders `cv-corpus-*/` (the newest by name wins), or be a release folder (holding `fr/`), or the
`fr/` folder itself. Common Voice is downloaded only after accepting
its terms on the website, so `hybridbench data prepare commonvoice-fr` explains where to put it.

Choices:
- `split` (default "test") picks `fr/{split}.tsv`; `subset` (default all) keeps a deterministic subset of that
  many clips: the clips with the smallest SHA-256 of their file name, so every machine picks the same clips and a
  subset of 500 contains the subset of 200. Both can also come from `$HYBRIDBENCH_COMMONVOICE_SPLIT` and
  `$HYBRIDBENCH_COMMONVOICE_SUBSET` for commands that only name the suite. The resulting item list (and so the
  run's manifest) says exactly which clips were used.
- Items keep the TSV's row order; id = clip file stem; speaker = client_id; the sentence is kept as published.
- A row whose MP3 is missing or does not decode is still an item: the runner's load fails and records a counted
  failure with the reason. Rows with no path or no sentence, lines that are not UTF-8, and repeated clips, are
  listed by `problems()`.
- MP3 is decoded by libsndfile (soundfile >= 0.12) or, where that lacks MP3, by FFmpeg through PyAV.
"""

from __future__ import annotations

import csv
import os
from functools import cached_property
from pathlib import Path

from hybridbench.audio import probe_duration
from hybridbench.errors import HybridbenchError
from hybridbench.suites.base import Item, SuiteStatus
from hybridbench.suites.common import (
    Problem,
    ScannedSuite,
    candidate_roots,
    default_data_dir,
    deterministic_subset,
    read_lines,
)

ENV_VAR = "HYBRIDBENCH_COMMONVOICE"
SPLIT_ENV_VAR = "HYBRIDBENCH_COMMONVOICE_SPLIT"
SUBSET_ENV_VAR = "HYBRIDBENCH_COMMONVOICE_SUBSET"
SOURCE = "https://commonvoice.mozilla.org/datasets"


def find_locale_dir(roots: list[Path], locale: str) -> Path | None:
    """The first folder holding the locale's split TSVs (see the module docstring for where it looks)."""
    for root in roots:
        releases = sorted(root.glob("cv-corpus-*"), reverse=True)
        for candidate in (root / locale, *(r / locale for r in releases), root):
            if candidate.is_dir() and any(candidate.glob("*.tsv")):
                return candidate
    return None


def read_tsv(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """Rows of a Common Voice TSV as (line number, row), and the lines that are not UTF-8 (see `read_lines`).

    Quoting is off (sentences contain bare double quotes), so each line is one row and is split on its own;
    a header that is not UTF-8 leaves nothing to name the columns by, which is an error, not a row problem.
    """
    lines, problems = read_lines(path, path.name)
    if problems and (not lines or lines[0][0] != 1):  # the file, or its header line, could not be read
        raise HybridbenchError(
            str(problems[0]), "a Common Voice split is UTF-8 text whose first line names the columns"
        )
    if not lines:
        return [], []
    (_, header_line), *body = lines
    header = _fields(header_line)
    rows = []
    for lineno, line in body:
        if not line:
            continue  # as csv.DictReader does
        values = _fields(line)
        # A short row keeps every column (None where it has no value), as csv.DictReader does.
        rows.append((lineno, dict(zip(header, values + [None] * (len(header) - len(values)), strict=False))))
    return rows, problems


def _fields(line: str) -> list[str]:
    return next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))


def read_clip_durations(locale_dir: Path) -> dict[str, float]:
    """clip file name -> seconds, from clip_durations.tsv when the release has one."""
    path = locale_dir / "clip_durations.tsv"
    if not path.is_file():
        return {}
    # Only a shortcut: a clip whose line here is unreadable has its duration read from the audio instead.
    rows, _ = read_tsv(path)
    durations = {}
    for _, row in rows:
        clip, ms = row.get("clip"), row.get("duration[ms]")
        if clip and ms and ms.strip().isdigit():
            durations[clip] = int(ms) / 1000
    return durations


class CommonVoiceFrench(ScannedSuite):
    name = "commonvoice-fr"
    language = "fr"
    locale = "fr"
    description = "Common Voice French (release layout), test split by default, MP3 clips, many speakers"

    def __init__(
        self, *, data_root: str | Path | None = None, split: str | None = None, subset: int | None = None
    ):
        super().__init__(data_root=data_root)
        self.roots = _roots(data_root)
        self.split = split or os.environ.get(SPLIT_ENV_VAR) or "test"
        if subset is None and os.environ.get(SUBSET_ENV_VAR):
            value = os.environ[SUBSET_ENV_VAR]
            if not value.isdigit():
                raise HybridbenchError(
                    f"{SUBSET_ENV_VAR}={value!r} is not a whole number", "unset it or fix it"
                )
            subset = int(value)
        if subset is not None and subset <= 0:
            raise HybridbenchError(f"subset size must be positive, got {subset}")
        self.subset = subset

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        locale_dir = find_locale_dir(_roots(data_root), cls.locale)
        if locale_dir is not None and (locale_dir / "test.tsv").is_file():
            return SuiteStatus(available=True, hint=str(locale_dir))
        return SuiteStatus(available=False, hint=_how_to_get())

    @classmethod
    def prepare(cls, data_root: str | Path | None = None, *, prefer_download: bool = False) -> str:
        if cls.status(data_root).available:
            return f"{cls.name}: already present at {cls.status(data_root).hint}"
        raise HybridbenchError(f"{cls.name} cannot be downloaded automatically", _how_to_get())

    @cached_property
    def _scan(self) -> tuple[list[Item], list[Problem]]:
        locale_dir = find_locale_dir(self.roots, self.locale)
        tsv = locale_dir / f"{self.split}.tsv" if locale_dir else None
        if tsv is None or not tsv.is_file():
            available = sorted(p.stem for p in locale_dir.glob("*.tsv")) if locale_dir else []
            raise HybridbenchError(
                f"{self.name}: no {self.locale}/{self.split}.tsv under {', '.join(map(str, self.roots))}",
                f"splits found: {', '.join(available)}" if available else _how_to_get(),
            )
        table, problems = read_tsv(tsv)
        _check_table(tsv, [row for _, row in table], self.locale)
        durations = read_clip_durations(locale_dir)
        rows: list[tuple[str, dict[str, str]]] = []
        seen: set[str] = set()
        for lineno, row in table:
            where = f"{tsv.name}:{lineno}"
            clip, sentence = (row.get("path") or "").strip(), (row.get("sentence") or "").strip()
            if not clip or not sentence:
                problems.append(Problem(where, "row has no clip path or no sentence"))
                continue
            if clip in seen:
                problems.append(Problem(where, f"clip {clip} is listed twice"))
                continue
            seen.add(clip)
            rows.append((clip, row))
        if self.subset is not None:
            keep = deterministic_subset((clip for clip, _ in rows), self.subset)
            rows = [(clip, row) for clip, row in rows if clip in keep]
        items = []
        for clip, row in rows:
            audio = locale_dir / "clips" / clip
            items.append(
                Item(
                    id=Path(clip).stem,
                    audio_path=audio,
                    text=row["sentence"].strip(),
                    language=self.language,
                    speaker=(row.get("client_id") or "").strip() or None,
                    duration=durations.get(clip) or probe_duration(audio),
                )
            )
        return items, problems


def _check_table(tsv: Path, table: list[dict[str, str]], locale: str) -> None:
    """Refuse a file that is not a Common Voice split of this locale, instead of turning it into odd items."""
    if not table:
        return
    missing = [column for column in ("path", "sentence") if column not in table[0]]
    if missing:
        raise HybridbenchError(
            f"{tsv} has no {' or '.join(missing)} column", "is it a Common Voice split file?"
        )
    locales = {(row.get("locale") or "").strip() for row in table} - {""}
    if locales and locale not in locales:  # releases since 2021 name each row's locale
        raise HybridbenchError(
            f"{tsv} holds locale {', '.join(sorted(locales))}, not {locale}", "check --data-root"
        )


def _roots(explicit: str | Path | None) -> list[Path]:
    return candidate_roots(explicit, ENV_VAR, default_data_dir())


def _how_to_get() -> str:
    return (
        f"download the French dataset from {SOURCE} (accept its terms), unpack it, then pass "
        f"--data-root /path/to/cv-corpus-NN or export {ENV_VAR}=/path/to/cv-corpus-NN"
    )
