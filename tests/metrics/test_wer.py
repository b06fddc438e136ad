"""Edit counts and corpus rates against hand-computed answers, and the normalizers' documented behaviour."""

from __future__ import annotations

import pytest

from hybridbench.metrics.normalize import normalizer_for
from hybridbench.metrics.wer import EditCounts, char_edits, corpus_rate, word_edits


def test_word_edits_hand_counted():
    # b->x substituted, d deleted, h inserted; the only 3-edit alignment (shifting by substitutions costs 4+).
    e = word_edits("a b c d e f g", "a x c e f g h")
    assert (e.substitutions, e.deletions, e.insertions, e.reference_length) == (1, 1, 1, 7)
    assert e.errors == 3


def test_char_edits_hand_counted():
    e = char_edits("abc", "abd")
    assert (e.substitutions, e.deletions, e.insertions, e.reference_length) == (1, 0, 0, 3)


def test_empty_reference_counts_insertions_only():
    assert word_edits("", "hello there") == EditCounts(0, 0, 2, 0)


def test_corpus_rate_weighs_by_length_unlike_the_mean_of_rates():
    short = EditCounts(1, 0, 0, 1)  # 100 % on one word
    long = EditCounts(0, 0, 0, 9)  # 0 % on nine words
    assert corpus_rate([short, long]) == pytest.approx(0.1)  # the mean of rates would say 50 %
    assert corpus_rate([EditCounts(0, 0, 3, 0)]) is None


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Doctor Martinez will see you.", "doctor martinez will see you"),
        ("It's seven thirty, isn't it?", "it is 730 is not it"),  # Whisper joins spelled-out number runs
        ("The colour of the theatre", "the color of the theater"),  # British -> American spelling map
        ("Twenty-five dollars", "$25"),
    ],
)
def test_english_normalizer(raw, normalized):
    assert normalizer_for("en")(raw) == normalized


def test_french_uses_basic_normalizer_and_keeps_accents():
    norm = normalizer_for("fr")
    assert norm.name == "whisper-basic"
    assert norm("Est-ce que l'été est là ?") == "est ce que l été est là"


def test_numbers_spelled_or_written_score_equal_in_english():
    norm = normalizer_for("en")
    assert word_edits(norm("We bought twelve apples."), norm("We bought 12 apples")).errors == 0


def test_seedtts_eval_cleaning_keeps_apostrophes_and_nothing_else():
    norm = normalizer_for("en", "seedtts-eval")
    assert norm("Hello, World! It's   FINE?") == "hello world it's fine"
