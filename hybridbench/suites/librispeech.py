"""LibriSpeech test-clean and test-other in their OpenSLR layout (the paper's in-domain test set).

Layout, as unpacked from https://www.openslr.org/12:

    LibriSpeech/test-clean/SPK/CHAP/SPK-CHAP.trans.txt      lines "SPK-CHAP-NNNN TRANSCRIPT IN CAPITALS"
    LibriSpeech/test-clean/SPK/CHAP/SPK-CHAP-NNNN.flac      16 kHz mono FLAC

The data is looked for under `--data-root`, then `$HYBRIDBENCH_LIBRISPEECH`, then `$HYBRIDBENCH_CACHE/data` (where
`hybridbench data prepare librispeech-test-clean` unpacks the archive; with `--data-root` it unpacks there).
Each may be the folder that holds `LibriSpeech/`, the `LibriSpeech/` folder itself, or the split folder itself.

Items are every transcript line (audio: the FLAC, or a same-named WAV for a converted copy), ordered by
(speaker, chapter, utterance) number; speaker = the LibriSpeech speaker id; the transcript is kept as published
(capitals, no punctuation): normalization happens at scoring.
A transcript line whose FLAC is missing is still an item (the runner records its load failure); a FLAC with no
transcript line, a malformed line, a line that is not UTF-8 and a duplicate id are listed by `problems()`.
"""

from __future__ import annotations

import shutil
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from hybridbench.audio import probe_duration
from hybridbench.errors import HybridbenchError
from hybridbench.paths import cache_dir
from hybridbench.suites.base import Item, SuiteStatus
from hybridbench.suites.common import (
    Problem,
    ScannedSuite,
    candidate_roots,
    default_data_dir,
    read_lines,
)
from hybridbench.suites.download import download, extract_tar

ENV_VAR = "HYBRIDBENCH_LIBRISPEECH"
# OpenSLR ships FLAC; WAV is what people convert it to (both are read the same way).
AUDIO_EXTENSIONS = (".flac", ".wav")
OPENSLR_URL = "https://www.openslr.org/resources/12/{split}.tar.gz"
# SHA-256 of the OpenSLR archives as pinned by torchaudio 2.11 (torchaudio/datasets/librispeech.py,
# `_CHECKSUMS`, keyed by the same files' http:// URLs), read from the installed package; a test keeps them equal.
SHA256 = {
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
}


def find_split_dir(roots: list[Path], split: str) -> Path | None:
    """The first `test-clean`-style folder under `roots`, accepting the three ways people point at one."""
    for root in roots:
        for candidate in (root / "LibriSpeech" / split, root / split, root):
            if candidate.name == split and next(candidate.glob("*/*/*.trans.txt"), None) is not None:
                return candidate
    return None


def _utterance_key(utt_id: str) -> tuple:
    """Numeric order for "SPK-CHAP-NNNN" (string order would put speaker 1089 before speaker 121)."""
    parts = utt_id.split("-")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


class _LibriSpeech(ScannedSuite):
    split: ClassVar[str]
    language = "en"

    def __init__(self, *, data_root: str | Path | None = None):
        super().__init__(data_root=data_root)
        self.roots = _roots(data_root)

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        split_dir = find_split_dir(_roots(data_root), cls.split)
        if split_dir is not None:
            return SuiteStatus(available=True, hint=str(split_dir))
        return SuiteStatus(
            available=False,
            hint=f"hybridbench data prepare {cls.name}  (or point --data-root / ${ENV_VAR} at an unpacked copy)",
        )

    @classmethod
    def prepare(cls, data_root: str | Path | None = None, *, prefer_download: bool = True) -> str:
        """Download the OpenSLR archive, check its SHA-256, unpack it under the first data root."""
        roots = _roots(data_root)
        found = find_split_dir(roots, cls.split)
        if found is not None:
            return f"{cls.name}: already present at {found}"
        root = roots[0]
        split_dest = root / "LibriSpeech" / cls.split
        if split_dest.exists():  # there, but find_split_dir saw no transcripts in it
            raise HybridbenchError(
                f"{split_dest} exists but holds no transcripts", "remove it and prepare again"
            )
        archive = download(
            OPENSLR_URL.format(split=cls.split),
            cache_dir("downloads") / f"{cls.split}.tar.gz",
            SHA256[cls.split],
        )
        staging = root / f".{cls.split}.unpacked"
        shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted earlier attempt
        unpacked = extract_tar(archive, staging)
        # Both splits unpack into the same LibriSpeech/ folder: move the split in, keep the shared files once.
        split_dest.parent.mkdir(parents=True, exist_ok=True)
        for entry in (unpacked / "LibriSpeech").iterdir():
            dest = root / "LibriSpeech" / entry.name
            if not dest.exists():
                entry.replace(dest)
        shutil.rmtree(unpacked)
        return f"{cls.name}: unpacked into {split_dest}"

    @cached_property
    def _scan(self) -> tuple[list[Item], list[Problem]]:
        split_dir = find_split_dir(self.roots, self.split)
        if split_dir is None:
            where = ", ".join(map(str, self.roots))
            raise HybridbenchError(
                f"{self.name}: no {self.split} folder under {where}", self.status(self.data_root).hint
            )
        items: dict[str, Item] = {}
        problems: list[Problem] = []
        for trans in sorted(split_dir.glob("*/*/*.trans.txt")):
            lines, unreadable = read_lines(trans, str(trans.relative_to(split_dir)))
            problems.extend(unreadable)
            for lineno, line in lines:
                if not line.strip():
                    continue
                utt_id, _, text = line.strip().partition(" ")
                where = f"{trans.relative_to(split_dir)}:{lineno}"
                if not text.strip() or utt_id.count("-") != 2:
                    problems.append(Problem(where, f"malformed transcript line {line.strip()!r}"))
                    continue
                if utt_id in items:
                    problems.append(Problem(where, f"duplicate utterance id {utt_id}"))
                    continue
                audio = _audio_file(trans.parent, utt_id)
                items[utt_id] = Item(
                    id=utt_id,
                    audio_path=audio,
                    text=text.strip(),
                    language=self.language,
                    speaker=utt_id.split("-")[0],
                    duration=probe_duration(audio),
                )
        for audio in sorted(p for ext in AUDIO_EXTENSIONS for p in split_dir.glob(f"*/*/*{ext}")):
            if audio.stem not in items:
                problems.append(
                    Problem(str(audio.relative_to(split_dir)), "audio file has no transcript line")
                )
        ordered = [items[k] for k in sorted(items, key=_utterance_key)]
        return ordered, problems


def _audio_file(chapter_dir: Path, utt_id: str) -> Path:
    """The utterance's FLAC, or a WAV beside the transcript if the user converted the set; the FLAC path if
    neither exists (the runner then records the missing file)."""
    for ext in AUDIO_EXTENSIONS:
        if (chapter_dir / f"{utt_id}{ext}").is_file():
            return chapter_dir / f"{utt_id}{ext}"
    return chapter_dir / f"{utt_id}.flac"


def _roots(explicit: str | Path | None) -> list[Path]:
    return candidate_roots(explicit, ENV_VAR, default_data_dir())


class LibriSpeechTestClean(_LibriSpeech):
    name = "librispeech-test-clean"
    split = "test-clean"
    description = "LibriSpeech test-clean (OpenSLR 12): 2,620 read-English utterances, 5.4 h, 40 speakers"


class LibriSpeechTestOther(_LibriSpeech):
    name = "librispeech-test-other"
    split = "test-other"
    description = (
        "LibriSpeech test-other (OpenSLR 12): 2,939 harder read-English utterances, 5.1 h, 33 speakers"
    )
