"""Asterisk core sound prompts: real human speech with transcripts that installs without a dataset site.

`asterisk-en`: US English, one female speaker (Allison); `asterisk-fr`: Canadian French, one female speaker
(June). Audio is 16 kHz G.722 (decoded by FFmpeg through PyAV); durations come from the file size (G.722 at
64 kbit/s is exactly 8,000 bytes per second). Transcripts are cleaned as `asterisk_text` documents; prompts
with no spoken text are dropped and listed, with every other row that did not become an item, by `problems()`.
Unlike the dataset loaders, a transcript line whose prompt the package does not ship is listed as a problem,
not turned into a failing item: the packages are known to carry such lines (1 in English, 7 in French).

With the 1.6.1 packages: of 568 English prompt files, 551 become items (17 tones, beeps and silences have no
spoken text; one more transcript line has no file); of 561 French files, 509 (43 files have no transcript line,
9 have no spoken text; 7 more transcript lines have no file).

Splits, for the offline replication that trains on one part and tests on the other: a prompt is in `test` when
the SHA-256 of its name (e.g. "digits/7", without language or extension) falls in the lowest `TEST_FRACTION`,
else in `train`. The split of a prompt never depends on which other prompts exist, so it is stable across
package versions, and a prompt name has the same split in English and French. Registered suites:
`asterisk-en`, `asterisk-en-train`, `asterisk-en-test`, and the same three for `-fr` (1.6.1: 442/109 English,
414/95 French). The split is by recording, not by sentence: some sentences are recorded under several names
(e.g. confbridge-begin-glorious-a/-b/-c), so 16 English and 12 French test prompts have a sentence that a train
prompt also says (a different recording of it).

Where the data is looked for, first match wins:
1. `--data-root`, then `$HYBRIDBENCH_ASTERISK`: a folder holding `asterisk/LANG/` or `LANG/` (an unpacked
   upstream sound tarball: the .g722 files with `core-sounds-LANG.txt` beside them), or that folder itself;
2. the Debian packages: /usr/share/asterisk/sounds/<voice>/ with
   /usr/share/doc/asterisk-core-sounds-LANG/core-sounds-LANG.txt.gz;
3. `$HYBRIDBENCH_CACHE/data/asterisk/LANG/`, where `hybridbench data prepare asterisk-LANG --download` unpacks
   the upstream tarball (with `--data-root DIR`: into `DIR/asterisk/LANG/`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from hybridbench.audio import probe_duration
from hybridbench.errors import HybridbenchError
from hybridbench.paths import cache_dir
from hybridbench.suites import debian
from hybridbench.suites.asterisk_text import parse_transcripts, read_transcript_file
from hybridbench.suites.base import Item, SuiteStatus
from hybridbench.suites.common import (
    Problem,
    ScannedSuite,
    candidate_roots,
    default_data_dir,
    stable_fraction,
)
from hybridbench.suites.download import download, extract_tar

ENV_VAR = "HYBRIDBENCH_ASTERISK"
TEST_FRACTION = 0.2
VERSION = "1.6.1"
DEBIAN_SOUNDS = Path("/usr/share/asterisk/sounds")
DEBIAN_DOCS = Path("/usr/share/doc")
TARBALL_URL = "https://downloads.asterisk.org/pub/telephony/sounds/releases/asterisk-core-sounds-{lang}-g722-{version}.tar.gz"
# SHA-256 of the upstream 1.6.1 G.722 tarballs as listed in Debian's signed source description
# (http://deb.debian.org/debian/pool/main/a/asterisk-core-sounds/asterisk-core-sounds_1.6.1-1.dsc, fields
# orig-en-g722 / orig-fr-g722). Debian's version has no repack suffix, so these are the upstream files; the bytes
# on downloads.asterisk.org could not be fetched from the machine this was written on, so they are not
# double-checked against it. A mismatch stops the download with both hashes.
TARBALL_SHA256 = {
    "en": "59891033e764d9dffc5ccdd78e845a1c8ea6bed0b434128bb0199c63ef591770",
    "fr": "7ff3ca96bbb295a6458e6eb1ff92690d9a5d0db0b4ddfa2c488237e4d251efbe",
}
VOICES = {"en": "en_US_f_Allison", "fr": "fr_CA_f_June"}


@dataclass(frozen=True)
class Location:
    """Where one language's prompts and transcript file are."""

    sounds: Path
    transcripts: Path


def split_of(prompt_name: str) -> str:
    """The split a prompt name is in ("test" or "train"), fixed by the name alone."""
    return "test" if stable_fraction(prompt_name) < TEST_FRACTION else "train"


def debian_packages(lang: str) -> list[str]:
    return [f"asterisk-core-sounds-{lang}-g722", f"asterisk-core-sounds-{lang}"]


def locate(lang: str, explicit: str | Path | None = None) -> Location | None:
    """The first place (see the module docstring) that holds both the prompts and their transcripts."""
    for root in candidate_roots(explicit, ENV_VAR):
        for folder in (root / "asterisk" / lang, root / lang, root):
            found = _unpacked_tarball(folder, lang)
            if found is not None:
                return found
    debian_text = DEBIAN_DOCS / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"
    debian_sounds = DEBIAN_SOUNDS / VOICES[lang]
    if debian_text.is_file() and any(debian_sounds.glob("*.g722")):
        return Location(debian_sounds, debian_text)
    return _unpacked_tarball(default_data_dir("asterisk", lang), lang)


def _unpacked_tarball(folder: Path, lang: str) -> Location | None:
    for name in (f"core-sounds-{lang}.txt", f"core-sounds-{lang}.txt.gz"):
        if (folder / name).is_file() and any(folder.glob("*.g722")):
            return Location(folder, folder / name)
    return None


class _Asterisk(ScannedSuite):
    lang: ClassVar[str]
    split: ClassVar[str | None] = None

    def __init__(self, *, data_root: str | Path | None = None):
        super().__init__(data_root=data_root)

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        where = locate(cls.lang, data_root)
        if where is not None:
            return SuiteStatus(available=True, hint=str(where.sounds))
        base = cls.name if cls.split is None else cls.name.rsplit("-", 1)[0]
        return SuiteStatus(available=False, hint=f"hybridbench data prepare {base}")

    @classmethod
    def prepare(cls, data_root: str | Path | None = None, *, prefer_download: bool = False) -> str:
        """Install the Debian packages (root + apt), else print the apt command, else download the tarball.

        With an explicit data root, `prefer_download`, or no apt-get, the upstream tarball is downloaded and
        unpacked instead (into the data root's `asterisk/LANG/` folder, or the cache).
        """
        if locate(cls.lang, data_root) is not None:
            return f"{cls.name}: already present at {locate(cls.lang, data_root).sounds}"
        given = data_root if data_root is not None else os.environ.get(ENV_VAR) or None
        packages = debian_packages(cls.lang)
        if given is None and not prefer_download and debian.has_apt():
            if not debian.can_install():
                raise HybridbenchError(
                    f"{cls.name} needs the Debian packages {', '.join(packages)}, and installing them needs root",
                    f"run: {debian.install_command(packages)}  (or add --download to fetch the upstream tarball)",
                )
            debian.apt_install(packages)
            if locate(cls.lang) is None:
                raise HybridbenchError(
                    f"{cls.name}: packages installed but the prompts are not where expected"
                )
            return f"{cls.name}: installed {', '.join(packages)}"
        target = (
            Path(given).expanduser() / "asterisk" / cls.lang
            if given is not None
            else default_data_dir("asterisk", cls.lang)
        )
        archive = download(
            TARBALL_URL.format(lang=cls.lang, version=VERSION),
            cache_dir("downloads") / f"asterisk-core-sounds-{cls.lang}-g722-{VERSION}.tar.gz",
            TARBALL_SHA256[cls.lang],
        )
        extract_tar(archive, target)
        return f"{cls.name}: unpacked into {target}"

    @cached_property
    def _scan(self) -> tuple[list[Item], list[Problem]]:
        where = locate(self.lang, self.data_root)
        if where is None:
            raise HybridbenchError(f"{self.name}: Asterisk {self.lang} prompts not found", self.status().hint)
        texts, problems = parse_transcripts(read_transcript_file(where.transcripts), where.transcripts.name)
        audio = {
            p.relative_to(where.sounds).with_suffix("").as_posix(): p for p in where.sounds.rglob("*.g722")
        }
        items = []
        for name in sorted(audio):
            if name not in texts:
                if not any(p.where == name for p in problems):  # not already dropped for having no text
                    problems.append(Problem(name, "audio file has no transcript line"))
                continue
            if self.split is not None and split_of(name) != self.split:
                continue
            items.append(
                Item(
                    id=name.replace("/", "__"),  # ids become file names in run folders
                    audio_path=audio[name],
                    text=texts[name],
                    language=self.lang,
                    speaker=VOICES[self.lang],
                    duration=probe_duration(audio[name]),
                )
            )
        for name in sorted(set(texts) - set(audio)):
            problems.append(Problem(name, "transcript lists a prompt that is not shipped; dropped"))
        if self.split is not None:  # keep the file-level problems and those of this split's prompts
            problems = [p for p in problems if ":" in p.where or split_of(p.where) == self.split]
        return items, problems


class AsteriskEnglish(_Asterisk):
    name = "asterisk-en"
    language = lang = "en"
    description = (
        "Asterisk core prompts, US English, one female voice (Allison), 16 kHz G.722, Debian package"
    )


class AsteriskEnglishTrain(AsteriskEnglish):
    name = "asterisk-en-train"
    split = "train"
    description = (
        f"asterisk-en prompts whose name hashes outside the lowest {TEST_FRACTION:.0%} (training part)"
    )


class AsteriskEnglishTest(AsteriskEnglish):
    name = "asterisk-en-test"
    split = "test"
    description = f"asterisk-en prompts whose name hashes into the lowest {TEST_FRACTION:.0%} (held-out part)"


class AsteriskFrench(_Asterisk):
    name = "asterisk-fr"
    language = lang = "fr"
    description = (
        "Asterisk core prompts, Canadian French, one female voice (June), 16 kHz G.722, Debian package"
    )


class AsteriskFrenchTrain(AsteriskFrench):
    name = "asterisk-fr-train"
    split = "train"
    description = (
        f"asterisk-fr prompts whose name hashes outside the lowest {TEST_FRACTION:.0%} (training part)"
    )


class AsteriskFrenchTest(AsteriskFrench):
    name = "asterisk-fr-test"
    split = "test"
    description = f"asterisk-fr prompts whose name hashes into the lowest {TEST_FRACTION:.0%} (held-out part)"
