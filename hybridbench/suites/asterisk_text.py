"""Reading and cleaning the Asterisk prompt transcripts (`core-sounds-LANG.txt`, `name: text` per line).

The transcripts describe what each prompt file plays, which is not always speech. Cleaning, in order:

1. Blank lines and `;` comment lines are skipped; a line without `:` is reported as malformed.
2. Square-bracket and angle-bracket spans are annotations, never spoken, and are removed:
   `letters/at: at [@]` -> "at", `beep: [this is a simple beep tone]` -> "", `confbridge-join: <beep ascending>` -> "".
3. Parenthesised spans are stage directions and are removed (`silence/1: (1 second of silence)`,
   `spy-iax2: IAX (note: does not say "2")`, French `for: Pour (emphase)`), except the spans listed in
   `SPOKEN_PARENTHESES`, whose words the speaker does say (checked by listening and by Whisper base): there only
   the parentheses go.
4. Whitespace is collapsed. Spelling and punctuation are kept as published, typos included (the French file
   has a few, e.g. "présentemnet"): normalization happens at scoring, and rewriting references is not ours to do.
5. A prompt whose text is empty after cleaning (tones, beeps, silences, and the French lines with no text) is
   dropped and reported with its raw text. A repeated name keeps its first line; the repeat is reported.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from hybridbench.suites.common import Problem

# Parenthesised text that is spoken in the recording (French priv-callee-options and screen-callee-options).
SPOKEN_PARENTHESES = frozenset({"ne m'appelez plus, jamais"})

_BRACKETS = re.compile(r"\[[^\]]*\]|<[^>]*>")
_PARENS = re.compile(r"\(([^)]*)\)")
_SPACES = re.compile(r"\s+")


def clean_text(raw: str) -> str:
    """The spoken words of one transcript line (empty if nothing in it is spoken)."""
    text = _BRACKETS.sub(" ", raw)
    text = _PARENS.sub(lambda m: m.group(1) if m.group(1).strip() in SPOKEN_PARENTHESES else " ", text)
    return _SPACES.sub(" ", text).strip()


def parse_transcripts(content: str, source: str) -> tuple[dict[str, str], list[Problem]]:
    """`name -> cleaned text` for every prompt with spoken text, and the lines that gave none."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        where = f"{source}:{lineno}"
        name, sep, raw = stripped.partition(":")
        name = name.strip()
        if not sep or not name:
            problems.append(Problem(where, f"malformed line {stripped!r} (expected 'name: text')"))
            continue
        if name in texts:
            problems.append(Problem(where, f"prompt {name} is listed again; the first line is used"))
            continue
        text = clean_text(raw)
        if not text:
            problems.append(Problem(name, f"no spoken text in the transcript ({raw.strip()!r}); dropped"))
            continue
        texts[name] = text
    return texts, problems


def read_transcript_file(path: Path) -> str:
    """The text of `core-sounds-LANG.txt`, gzipped (Debian) or not (upstream tarball)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8")
