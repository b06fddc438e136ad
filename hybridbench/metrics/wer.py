"""Word and character error counts per utterance, and corpus rates from summed counts.

Each item stores its edit counts (substitutions, deletions, insertions, reference length) rather than a rate,
so a corpus rate is `sum(S + D + I) / sum(N)` over items: long utterances weigh by their length, and a
reviewer can recompute any aggregate. Counts come from jiwer's `process_words` / `process_characters`.
For CER, spaces are kept as characters between words (jiwer's convention).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import jiwer


@dataclass(frozen=True)
class EditCounts:
    substitutions: int
    deletions: int
    insertions: int
    reference_length: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _counts(out) -> EditCounts:
    return EditCounts(
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
        reference_length=out.hits + out.substitutions + out.deletions,
    )


def word_edits(reference: str, hypothesis: str) -> EditCounts:
    """Edit counts between two already-normalized strings (words split on whitespace)."""
    if not reference.split():
        # jiwer refuses empty references; an empty reference has no words to get wrong, only insertions.
        return EditCounts(0, 0, len(hypothesis.split()), 0)
    return _counts(jiwer.process_words(reference, hypothesis))


def char_edits(reference: str, hypothesis: str) -> EditCounts:
    if not reference.strip():
        return EditCounts(0, 0, len(hypothesis.strip()), 0)
    return _counts(jiwer.process_characters(reference, hypothesis))


def corpus_rate(counts: Iterable[EditCounts]) -> float | None:
    """Summed errors over summed reference length; None when there is no reference word at all."""
    counts = list(counts)
    total = sum(c.reference_length for c in counts)
    if total == 0:
        return None
    return sum(c.errors for c in counts) / total
