"""SeedTTS-en: the English test set of seed-tts-eval (the paper's out-of-domain test set), in its published layout.

Layout (https://github.com/BytedanceSpeech/seed-tts-eval, `seedtts_testset/`):

    en/meta.lst          lines "utt|prompt_text|prompt_wav|infer_text", prompt_wav relative to en/
    en/prompt-wavs/*.wav the prompt recordings (Common Voice English clips)

The set is built for zero-shot TTS: `infer_text` is a sentence for a TTS model to say in the prompt's voice, and
no recording of it exists. A codec can only reconstruct recordings, so each item here is one prompt wav, scored
against its own `prompt_text`. That is the only reading of "SeedTTS-en" that gives a codec a reference audio and a
reference transcript, and it is this harness's choice (the HybridCodec paper does not say which files it used).
A prompt wav that several meta.lst lines share is one item (first line wins; a different prompt_text on a later
line is listed by `problems()`, as is a line that is not UTF-8). Items keep meta.lst order; id = the wav's file stem; speaker = None, because
seed-tts-eval does not publish the Common Voice client ids; duration from the WAV header.

The data is looked for under `--data-root`, then `$HYBRIDBENCH_SEEDTTS`, then `$HYBRIDBENCH_CACHE/data`; each may
hold `seedtts_testset/`, or be the `seedtts_testset` folder (holding `en/`), or the `en/` folder itself. seed-tts-eval is distributed by a
link in its README, not by a URL with a checksum, so `hybridbench data prepare seedtts-en` explains where to put
it instead of downloading.
"""

from __future__ import annotations

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
    read_lines,
)

ENV_VAR = "HYBRIDBENCH_SEEDTTS"
SOURCE = "https://github.com/BytedanceSpeech/seed-tts-eval"


def find_lang_dir(roots: list[Path], lang: str = "en") -> Path | None:
    """The first folder holding meta.lst: `root/seedtts_testset/en`, `root/en` or `root` itself."""
    for root in roots:
        for candidate in (root / "seedtts_testset" / lang, root / lang, root):
            if (candidate / "meta.lst").is_file():
                return candidate
    return None


class SeedTTSEnglish(ScannedSuite):
    name = "seedtts-en"
    language = "en"
    description = "seed-tts-eval English: each prompt wav (Common Voice English) against its prompt text"

    def __init__(self, *, data_root: str | Path | None = None):
        super().__init__(data_root=data_root)
        self.roots = _roots(data_root)

    @classmethod
    def status(cls, data_root: str | Path | None = None) -> SuiteStatus:
        lang_dir = find_lang_dir(_roots(data_root))
        if lang_dir is not None:
            return SuiteStatus(available=True, hint=str(lang_dir))
        return SuiteStatus(available=False, hint=_how_to_get())

    @classmethod
    def prepare(cls, data_root: str | Path | None = None, *, prefer_download: bool = False) -> str:
        if find_lang_dir(_roots(data_root)) is not None:
            return f"{cls.name}: already present at {find_lang_dir(_roots(data_root))}"
        raise HybridbenchError(f"{cls.name} cannot be downloaded automatically", _how_to_get())

    @cached_property
    def _scan(self) -> tuple[list[Item], list[Problem]]:
        lang_dir = find_lang_dir(self.roots)
        if lang_dir is None:
            where = ", ".join(map(str, self.roots))
            raise HybridbenchError(f"{self.name}: no en/meta.lst under {where}", _how_to_get())
        items: dict[Path, Item] = {}
        lines, problems = read_lines(lang_dir / "meta.lst", "meta.lst")
        for lineno, line in lines:
            if not line.strip():
                continue
            where = f"meta.lst:{lineno}"
            fields = line.rstrip("\r\n").split("|")
            if len(fields) != 4:
                problems.append(Problem(where, f"expected 4 '|'-separated fields, found {len(fields)}"))
                continue
            _utt, prompt_text, prompt_wav, _infer_text = (f.strip() for f in fields)
            if not prompt_text or not prompt_wav:
                problems.append(Problem(where, "empty prompt_text or prompt_wav"))
                continue
            audio = (lang_dir / prompt_wav).resolve()
            if audio in items:
                if items[audio].text != prompt_text:
                    problems.append(Problem(where, f"{prompt_wav} already has a different prompt_text"))
                continue
            items[audio] = Item(
                id=audio.stem,
                audio_path=audio,
                text=prompt_text,
                language=self.language,
                speaker=None,
                duration=probe_duration(audio),
            )
        return list(items.values()), problems


def _roots(explicit: str | Path | None) -> list[Path]:
    return candidate_roots(explicit, ENV_VAR, default_data_dir())


def _how_to_get() -> str:
    return (
        f"download seedtts_testset from the link in {SOURCE}'s README, unpack it, then pass "
        f"--data-root /path/to/seedtts_testset or export {ENV_VAR}=/path/to/seedtts_testset"
    )
