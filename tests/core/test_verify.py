"""`hybridbench verify`: each verdict (reproduced, not reproduced, not comparable for each reason) from a
crafted run, automatic rescoring under a claim's protocol, and the command's exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridbench.cli import main
from hybridbench.errors import HybridbenchError
from hybridbench.protocol import rescored_summary
from hybridbench.published import NOT_STATED, PUBLISHED_DIR, Citation, Claim, ClaimProtocol
from hybridbench.results import RunResults, open_run
from hybridbench.store import ResultRow
from hybridbench.verify import (
    NOT_COMPARABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    exit_status,
    parse_codec_map,
    render,
    verify_claims,
)

SUITE = "librispeech-test-clean"
REFERENCE = "the quick brown fox jumps over the lazy dog today"  # 10 words
CITATION = Citation("A paper", ("Someone",), "Interspeech 2026", None, None)
DEFAULT_PROTOCOL = {
    "asr_model": "whisper-large-v3",
    "normalizer": NOT_STATED,
    "averaging": NOT_STATED,
    "sample_rate": NOT_STATED,
    "weights": "trained",
    "training_updates": 60000,
    "hardware": NOT_STATED,
}
MAP = {"DAC": "dac-mini"}


def _row(codec: str, item: int, depth: int) -> ResultRow:
    """Item i of 8: its first i % 3 words wrong at depth 1 (none at 12), written as Whisper writes: capitalised,
    with a full stop (no error under Whisper's normalizer, one or two verbatim)."""
    words = REFERENCE.split()
    wrong = item % 3 if depth == 1 else 0
    hyp = " ".join(["x"] * wrong + words[wrong:])
    payload = {
        "text": REFERENCE,
        "language": "en",
        "asr": "whisper-large-v3",
        "transcript": hyp[0].upper() + hyp[1:] + ".",
        "audio_s": 1.0,
        "encode_s": 0.01,
        "decode_s": 0.03,
        "bitrate": 300.0,
        "metrics": {"pesq-wb": 2.0 + 0.1 * item},
        "metric_failures": {},
        "signal_metrics": ["pesq-wb"],
    }
    return ResultRow(f"{codec}-{item}-{depth}", codec, SUITE, f"i{item}", depth, "ok", None, payload)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunResults:
    rows = [_row("dac-mini", i, d) for d in (1, 12) for i in range(8)] + [
        _row("dac-16khz", i, 12) for i in range(8)
    ]
    config = {
        "asr_resolved": {SUITE: {"name": "whisper-large-v3", "model": "large-v3", "beam_size": 5}},
        "metrics": ["pesq-wb"],
    }
    provenance = {
        # dac-mini was trained by this project's trainer (it records a step); dac-16khz is the released one.
        "codecs": {"dac-mini": {"extra": {"step": "18500"}}, "dac-16khz": {"extra": {}}},
        "metrics": [{"name": "pesq-wb", "sample_rate": 16000}],
        "device_name": "NVIDIA RTX A6000",
    }
    return RunResults([tmp_path_factory.mktemp("crafted")], [config], [provenance], rows)


def claim(value: float = 10.0, protocol: dict | None = None, **fields) -> Claim:
    base = {"model": "DAC", "suite": SUITE, "metric": "wer", "depth": 1, "unit": "%", "table": "Table 1"}
    return Claim(
        **(base | fields),
        value=value,
        protocol=ClaimProtocol(**(DEFAULT_PROTOCOL | (protocol or {}))),
        note=None,
        citation=CITATION,
        source="test",
    )


def one(run: RunResults, c: Claim, codec_map: dict | None = None, tolerance: float = 0.0):
    (verdict,) = verify_claims(
        run, [c], codec_map=MAP if codec_map is None else codec_map, tolerance=tolerance
    )
    return verdict


def _measured(run: RunResults, codec: str = "dac-mini", depth: int = 1, **rescore) -> dict:
    s = rescored_summary(run, **rescore)
    return s[(s["codec"] == codec) & (s["depth"] == depth)].iloc[0].to_dict()


def test_a_claim_inside_the_measured_interval_is_reproduced(run):
    m = _measured(run)
    assert m["wer"] == pytest.approx(7 / 80)  # 0+1+2+0+1+2+0+1 errors over 8 x 10 words
    v = one(run, claim(value=8.75))
    assert v.verdict == REPRODUCED
    assert v.measured == pytest.approx(8.75) and v.low == pytest.approx(100 * m["wer_low"])
    assert v.low <= 8.75 <= v.high and v.n == 8
    assert "normalizer not stated: the run's" in v.why and "60,000 updates claimed, 18,500 here" in v.why


def test_a_claim_outside_the_interval_is_not_reproduced_unless_within_the_tolerance(run):
    v = one(run, claim(value=43.22))
    assert v.verdict == NOT_REPRODUCED and v.high < 43.22
    assert exit_status([v]) == 1
    assert one(run, claim(value=43.22), tolerance=34.5).verdict == REPRODUCED  # |43.22 - 8.75| = 34.47
    assert one(run, claim(value=43.22), tolerance=34.4).verdict == NOT_REPRODUCED


def test_a_stated_normalizer_and_averaging_are_rescored_from_the_transcripts(run):
    verbatim = _measured(run, normalizer="verbatim")
    v = one(run, claim(value=100 * verbatim["wer"], protocol={"normalizer": "verbatim"}))
    assert v.verdict == REPRODUCED and "rescored: normalizer verbatim" in v.why
    # Capital first word and full stop count verbatim: more errors than under Whisper's normalizer.
    assert v.measured == pytest.approx(100 * verbatim["wer"]) and v.measured > 8.75
    utterance = _measured(run, average="utterance")
    u = one(run, claim(value=50.0, protocol={"averaging": "utterance"}))
    assert u.measured == pytest.approx(100 * utterance["wer_utterance_mean"])
    assert u.verdict == NOT_REPRODUCED and "rescored: utterance averaging" in u.why


def test_signal_metric_and_speed_claims_compare_when_their_protocol_matches(run):
    pesq = one(
        run, claim(value=2.35, metric="pesq-wb", unit="MOS-LQO", depth=12, protocol={"sample_rate": 16000})
    )
    assert pesq.verdict == REPRODUCED and pesq.measured == pytest.approx(2.35) and pesq.n == 8
    rtf = one(
        run, claim(value=0.04, metric="rtf", unit="x real time", depth=12, protocol={"hardware": "RTX A6000"})
    )
    assert rtf.measured == pytest.approx(0.04)  # encode 0.01 + decode 0.03 per audio second
    assert rtf.low is None and "no interval" in rtf.why and "encode + decode" in rtf.why
    assert one(run, rtf.claim, tolerance=1e-9).verdict == REPRODUCED
    assert one(run, claim(value=0.014, metric="rtf", unit="x real time", depth=12,
                          protocol={"hardware": "RTX A6000"})).verdict == NOT_REPRODUCED  # fmt: skip


@pytest.mark.parametrize(
    ("c", "codec_map", "reason"),
    [
        (claim(model="DualCodec"), None, "codec DualCodec not in the run (map it: --map 'DualCodec=CODEC')"),
        (claim(), {"DAC": "dac-24khz"}, "codec dac-24khz not in the run"),
        (claim(suite="seedtts-en"), None, "suite seedtts-en not in the run (it has librispeech-test-clean)"),
        (claim(depth=3), None, "depth 3 not run for dac-mini (run: 1, 12)"),
        (claim(protocol={"asr_model": "whisper-tiny.en"}), None, "ASR whisper-tiny.en claimed, the run used whisper-large-v3"),
        (claim(protocol={"normalizer": "lowercase only"}), None, "normalizer 'lowercase only' is not one hybridbench has"),
        (claim(depth=12), {"DAC": "dac-16khz"}, "the paper trained DAC itself; the run's dac-16khz has public weights"),
        (claim(protocol={"weights": "public"}), None, "the paper used public DAC weights; the run's dac-mini was trained"),
        (claim(metric="pesq", unit="MOS-LQO", depth=12), None, "PESQ band not stated"),
        (claim(metric="speaker-sim", unit="cosine", depth=12), None, "speaker-embedding model not stated"),
        (claim(metric="stoi", unit="0-1", depth=12), None, "stoi not measured in the run"),
        (claim(metric="pesq-wb", unit="MOS-LQO", depth=12, protocol={"sample_rate": 24000}), None,
         "pesq-wb claimed at 24000 Hz, measured at 16000 Hz"),
        (claim(metric="rtf", unit="x real time", depth=12, protocol={"hardware": "RTX 4090"}), None,
         "RTF claimed on RTX 4090, the run timed on NVIDIA RTX A6000"),
        (claim(metric="rtf", unit="x real time", depth=12), None, "hardware not stated for the speed claim"),
    ],
)  # fmt: skip
def test_each_reason_a_claim_is_not_comparable(run, c, codec_map, reason):
    v = one(run, c, codec_map)
    assert v.verdict == NOT_COMPARABLE
    assert v.why.startswith(reason) and v.measured is None
    assert exit_status([v]) == 0  # not comparable is not a failure


def test_the_rendered_table_has_a_line_per_claim_and_the_counts(run):
    verdicts = verify_claims(run, [claim(8.75), claim(43.22), claim(model="DualCodec")], codec_map=MAP)
    text = render(verdicts, source="A paper; read from test", tolerance=0.0)
    lines = text.splitlines()
    assert lines[0] == "Claims: A paper; read from test"
    rows = [line for line in lines if line.startswith("| DAC") or line.startswith("| DualCodec")]
    assert len(rows) == 3
    assert rows[0].startswith("| DAC → dac-mini | librispeech-test-clean wer@1 | 8.75 | 8.75 [")
    assert "| reproduced |" in rows[0] and "| not reproduced |" in rows[1] and "| not comparable |" in rows[2]
    assert "1 reproduced, 1 not reproduced, 1 not comparable" in lines[-1]
    assert exit_status(verdicts) == 1


def test_codec_map_parsing():
    assert parse_codec_map("HybridCodec=hybridcodec-mini, DAC (Distill)=dac-distill-mini") == {
        "HybridCodec": "hybridcodec-mini",
        "DAC (Distill)": "dac-distill-mini",
    }
    with pytest.raises(HybridbenchError, match="is not MODEL=CODEC"):
        parse_codec_map("HybridCodec")


# ---- the command on a real run ---------------------------------------------------------------------------


def _claims_file(tmp_path: Path, value: float, *, unit: str = "%") -> Path:
    doc = {
        "format": 1,
        "paper": {"title": "A test paper", "authors": ["Someone"], "venue": "Test 2026"},
        "source": "written by the test",
        "protocol": DEFAULT_PROTOCOL | {"asr_model": "whisper-tiny.en"},
        "claims": [
            {"model": "DAC", "suite": "synthetic-en", "metric": "wer", "depth": 1, "value": value, "unit": unit,
             "table": "Table 1"}
        ],
    }  # fmt: skip
    path = tmp_path / f"claims-{value}-{len(unit)}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _verify(capsys, *argv):
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_command_exit_status_gates_on_a_claim_not_reproduced(small_run, tmp_path, capsys):
    measured = 100 * _measured(open_run(small_run))["wer"]
    code, out, _ = _verify(capsys, str(small_run), "--claims", str(_claims_file(tmp_path, round(measured, 2))),
                           "--map", "DAC=dac-mini")  # fmt: skip
    assert code == 0
    assert "| DAC → dac-mini | synthetic-en wer@1 |" in out and "| reproduced |" in out
    code, out, _ = _verify(
        capsys, str(small_run), "--claims", str(_claims_file(tmp_path, 99.0)), "--map", "DAC=dac-mini"
    )
    assert code == 1 and "| not reproduced |" in out


def test_verify_command_user_errors_exit_2_with_one_line(small_run, tmp_path, capsys):
    bad = _claims_file(tmp_path, 10.0, unit="fraction")
    code, out, err = _verify(capsys, str(small_run), "--claims", str(bad))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{bad}: claims[0].unit:" in err
    code, _, err = _verify(
        capsys, str(small_run), "--claims", str(_claims_file(tmp_path, 10.0)), "--map", "DAC"
    )
    assert code == 2 and "is not MODEL=CODEC" in err


def test_the_published_hybridcodec_claims_against_a_small_run(small_run, capsys):
    claims = PUBLISHED_DIR / "hybridcodec-2606.06743.json"
    code, out, _ = _verify(capsys, str(small_run), "--claims", str(claims), "--map", "DAC=dac-mini")
    # Nothing of the paper's suites is in the small run: every cell is not comparable, which fails nothing.
    assert code == 0
    assert "0 reproduced, 0 not reproduced, 28 not comparable" in out
    assert (
        "| DAC → dac-mini | librispeech-test-clean wer@1 | 43.22 | — | not comparable | suite librispeech-test-clean"
        in out
    )
