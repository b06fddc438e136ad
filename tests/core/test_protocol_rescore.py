"""Protocol card and rescoring: a run's numbers under another normalizer or WER averaging, from the stored
transcripts alone; the defaults give the run's own tables exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from hybridbench.cli import main
from hybridbench.errors import HybridbenchError
from hybridbench.metrics.normalize import normalizer_named
from hybridbench.protocol import protocol_of, rescored_summary
from hybridbench.report.aggregate import item_frame, summarize
from hybridbench.results import RunResults, open_run
from hybridbench.store import ResultRow

SUITE = "crafted-en"


def row(item: str, text: str, transcript: str, *, codec: str = "c", depth: int = 1) -> ResultRow:
    payload = {
        "text": text,
        "language": "en",
        "asr": "whisper-tiny.en",
        "transcript": transcript,
        "audio_s": 2.0,
        "encode_s": 0.1,
        "decode_s": 0.1,
        "bitrate": 1000.0,
        "metrics": {},
        "metric_failures": {},
        "signal_metrics": [],
    }
    return ResultRow(f"{codec}-{item}-{depth}", codec, SUITE, item, depth, "ok", None, payload)


# Differ from their references only in case and punctuation.
PUNCTUATION_ONLY = [
    row("a", "Hello, World!", "hello world"),
    row("b", "Is it ready? Yes.", "is it ready yes"),
]
# Item x: 1 reference word, 1 error (WER 1.0); item y: 9 reference words, no error.
UNEQUAL = [
    row("x", "yes", "no"),
    row("y", "the cat sat on the mat by the door", "the cat sat on the mat by the door"),
]


def test_case_and_punctuation_are_no_error_under_whisper_but_errors_verbatim():
    default = summarize(item_frame(PUNCTUATION_ONLY), [])
    verbatim = summarize(item_frame(PUNCTUATION_ONLY, normalizer="verbatim"), [])
    assert default.loc[0, "wer"] == 0.0
    # "Hello, World!" vs "hello world": 2 substitutions; "Is it ready? Yes." vs "is it ready yes": 3 of 4.
    assert verbatim.loc[0, "wer"] == pytest.approx(5 / 6)
    assert set(item_frame(PUNCTUATION_ONLY, normalizer="verbatim")["normalizer"]) == {"verbatim (1)"}


def test_seedtts_normalizer_strips_punctuation_but_keeps_apostrophes_and_numbers():
    norm = normalizer_named("seedtts-eval")
    assert norm("Don't stop, Rock 'n' Roll!") == "don't stop rock 'n' roll"
    # Unlike Whisper's English normalizer it spells nothing out: "7:30" and "seven thirty" stay different.
    assert norm("At 7:30.") == "at 730"
    frame = item_frame([row("s", "It's 10, OK?", "it's 10 ok")], normalizer="seedtts-eval")
    assert frame.loc[0, "word_sub"] + frame.loc[0, "word_del"] + frame.loc[0, "word_ins"] == 0


def test_corpus_and_utterance_averaging_known_answers():
    corpus = summarize(item_frame(UNEQUAL), [])
    utterance = summarize(item_frame(UNEQUAL), [], wer_average="utterance")
    assert corpus.loc[0, "wer"] == pytest.approx(0.1)  # 1 error / 10 reference words
    assert utterance.loc[0, "wer"] == pytest.approx(0.5)  # mean of 1.0 and 0.0
    assert utterance.loc[0, "wer_corpus"] == pytest.approx(0.1)
    assert utterance.loc[0, "wer_average"] == "utterance"
    assert utterance.loc[0, "wer_low"] <= 0.5 <= utterance.loc[0, "wer_high"]
    # The default frame is unchanged: no column added for the option.
    assert "wer_corpus" not in corpus and "wer_average" not in corpus
    assert corpus.loc[0, "wer_utterance_mean"] == pytest.approx(0.5)


def test_unknown_normalizer_or_averaging_is_one_line_listing_the_valid_ones():
    with pytest.raises(HybridbenchError) as err:
        item_frame(UNEQUAL, normalizer="lowercase")
    assert "whisper-english, whisper-basic, seedtts-eval, verbatim" in str(err.value)
    with pytest.raises(HybridbenchError, match="corpus, utterance"):
        summarize(item_frame(UNEQUAL), [], wer_average="median")


def test_rescored_summary_of_crafted_rows_in_both_directions():
    run = RunResults([], [{}], [{}], PUNCTUATION_ONLY + UNEQUAL)
    base = rescored_summary(run)
    again = rescored_summary(run, normalizer="verbatim", average="utterance")
    assert base.loc[0, "wer"] < again.loc[0, "wer"]
    # per utterance, verbatim: 2/2, 3/4, 1/1, 0/9
    assert again.loc[0, "wer"] == pytest.approx((1 + 0.75 + 1 + 0) / 4)


# ---- on a real run ---------------------------------------------------------------------------------------


def test_rescore_with_the_default_protocol_is_the_runs_own_summary(small_run):
    run = open_run(small_run)
    pd.testing.assert_frame_equal(rescored_summary(run), run.summary)
    # Naming the run's own normalizer (every suite is English) recomputes the same numbers.
    named = rescored_summary(run, normalizer="whisper-english")
    pd.testing.assert_frame_equal(named, run.summary)


def test_the_protocol_card_of_a_run(small_run):
    run = open_run(small_run)
    protocol = protocol_of(run, "synthetic-en")
    assert protocol.asr_profile == "whisper-tiny.en" and protocol.asr_model == "tiny.en"
    assert protocol.asr_engine == "faster-whisper"  # not stored for this engine: read as the default
    assert protocol.beam_size == 5 and protocol.temperature == (0.0,)
    assert protocol.normalizer.startswith("whisper-english (whisper-normalizer ")
    assert protocol.wer_average == "corpus" and not protocol.rescored
    assert protocol.metric_sample_rate == 16000 and protocol.pesq_bands == ("wb (ITU-T P.862.2)",)
    assert "torchaudio" in protocol.resampler
    card = protocol.card()
    assert (
        "`whisper-tiny.en` (model tiny.en on faster-whisper," in card
        and "corpus rate" in card
        and "PESQ band: wb" in card
    )
    other = protocol_of(run, "synthetic-en", normalizer="seedtts-eval", average="utterance")
    assert other.rescored and other.normalizer == "seedtts-eval (seed-tts-eval run_wer.py cleaning)"
    assert "mean of per-utterance WERs" in other.card()


def test_rescore_command_prints_and_writes_the_tables_under_the_card(small_run, tmp_path, capsys):
    code = main(
        [
            "rescore",
            str(small_run),
            "--normalizer",
            "verbatim",
            "--average",
            "utterance",
            "--out",
            str(tmp_path),
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    assert "- Normalizer: verbatim (1)" in out and "(rescored from the stored transcripts)" in out
    expected = rescored_summary(open_run(small_run), normalizer="verbatim", average="utterance")
    written = pd.read_csv(tmp_path / "rescored-synthetic-en.csv")
    assert written["wer"].tolist() == pytest.approx(expected["wer"].tolist())
    identity = expected[expected["codec"] == "identity"].iloc[0]
    line = next(x for x in out.splitlines() if x.startswith("| identity | 1 |"))
    assert f"| {100 * identity['wer']:.1f} [" in line
    assert (tmp_path / "rescored-synthetic-en.md").read_text(encoding="utf-8") in out
    # Whisper's transcripts are cased and punctuated: verbatim cannot count fewer errors on the originals.
    own = open_run(small_run).summary
    assert identity["wer_corpus"] >= own[own["codec"] == "identity"].iloc[0]["wer"]


def test_rescore_command_user_mistakes_exit_2_with_one_line(small_run, capsys):
    assert main(["rescore", str(small_run), "--normalizer", "lowercase"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "valid normalizers: whisper-english" in err
    assert main(["rescore", str(small_run), "--suite", "librispeech-test-clean"]) == 2
    _, err = capsys.readouterr()
    assert "not in the run" in err and err.count("\n") == 1
