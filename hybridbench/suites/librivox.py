"""librivox-mini: five read-speech clips from LibriVox (public domain), shipped in Debian's pocketsphinx-testdata.

Five sentences of one reader from one LibriVox recording (Sense and Sensibility, chapter 1), 24.7 s in all, 16 kHz
16-bit WAV: the smallest real read-speech check that works offline. Files, in the package's sphinx layout:

    fileids          one utterance id per line (the item order)
    transcription    "<s> words in lower case </s> (utterance-id)" per line
    UTTERANCE-ID.wav

speaker = the recording's name (one reader, unnamed in the package); text is kept as published, including the
reader's repeated "a a" in clip 0920, because that is what was said.

The data is looked for under `--data-root`, then `$HYBRIDBENCH_LIBRIVOX`, then the package's folder
/usr/share/pocketsphinx/test/data/librivox; each may be the clips' folder or hold it as `librivox/`. `hybridbench data prepare librivox-mini` installs the package when it
may (root and apt-get), else prints the exact command.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from hybridbench.audio import probe_duration
from hybridbench.errors import HybridbenchError
from hybridbench.suites import debian
from hybridbench.suites.base import Item, SuiteStatus
from hybridbench.suites.common import Problem, ScannedSuite, candidate_roots, read_lines

ENV_VAR = "HYBRIDBENCH_LIBRIVOX"
DEBIAN_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
PACKAGES = ["pocketsphinx-testdata"]
SPEAKER = "librivox-sense_and_sensibility_01_austen"
_LINE = re.compile(r"^\s*(?:<s>)?\s*(?P<text>.*?)\s*(?:</s>)?\s*\((?P<id>[^()\s]+)\)\s*$")


def parse_transcription(
    content: str | list[tuple[int, str]], source: str
) -> tuple[dict[str, str], list[Problem]]:
    """utterance id -> text from a sphinx `transcription` file (its text, or its numbered lines)."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    lines = list(enumerate(content.splitlines(), start=1)) if isinstance(content, str) else content
    for lineno, line in lines:
        if not line.strip():
            continue
        match = _LINE.match(line)
        where = f"{source}:{lineno}"
        if not match or not match["text"]:
            problems.append(Problem(where, f"malformed line {line.strip()!r}"))
        elif match["id"] in texts:
            problems.append(
                Problem(where, f"utterance {match['id']} is listed again; the first line is used")
            )
        else:
            texts[match["id"]] = match["text"]
    return texts, problems


class LibriVoxMini(ScannedSuite):
    name = "librivox-mini"
    language = "en"
    description = "5 LibriVox read-speech clips (24.7 s, one reader, 16 kHz), Debian pocketsphinx-testdata"

    def __init__(self, *, data_root: str | Path | None = None):
        super().__init__(data_root=data_root)
        self.roots = candidate_roots(data_root, ENV_VAR, DEBIAN_DIR)

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        folder = find_folder(candidate_roots(data_root, ENV_VAR, DEBIAN_DIR))
        if folder is not None:
            return SuiteStatus(available=True, hint=str(folder))
        return SuiteStatus(available=False, hint=f"hybridbench data prepare {cls.name}")

    @classmethod
    def prepare(cls, data_root: str | Path | None = None, *, prefer_download: bool = False) -> str:
        if cls.status(data_root).available:
            return f"{cls.name}: already present at {cls.status(data_root).hint}"
        if not debian.can_install():
            raise HybridbenchError(
                f"{cls.name} comes from the Debian package {PACKAGES[0]}, which this process cannot install",
                f"run: {debian.install_command(PACKAGES)}"
                if debian.has_apt()
                else "install it on a Debian system",
            )
        debian.apt_install(PACKAGES)
        return f"{cls.name}: installed {PACKAGES[0]}"

    @cached_property
    def _scan(self) -> tuple[list[Item], list[Problem]]:
        folder = find_folder(self.roots)
        if folder is None:
            where = ", ".join(map(str, self.roots))
            raise HybridbenchError(f"{self.name}: no transcription file under {where}", self.status().hint)
        lines, problems = read_lines(folder / "transcription", "transcription")
        texts, malformed = parse_transcription(lines, "transcription")
        problems.extend(malformed)
        fileids = folder / "fileids"
        if fileids.is_file():
            id_lines, unreadable = read_lines(fileids, "fileids")
            problems.extend(unreadable)
            order = [utt_id for _, line in id_lines for utt_id in line.split()]
        else:
            order = list(texts)
        items = []
        for utt_id in order:
            if utt_id not in texts:
                problems.append(Problem(utt_id, "listed in fileids but has no transcription line"))
                continue
            audio = folder / f"{utt_id}.wav"
            items.append(Item(utt_id, audio, texts[utt_id], self.language, SPEAKER, probe_duration(audio)))
        for utt_id in sorted(texts.keys() - set(order)):
            problems.append(Problem(utt_id, "has a transcription line but is not in fileids; dropped"))
        return items, problems


def find_folder(roots: list[Path]) -> Path | None:
    """The first folder with a `transcription` file: each root's `librivox/`, or the root itself."""
    for root in roots:
        for candidate in (root / "librivox", root):
            if (candidate / "transcription").is_file():
                return candidate
    return None
