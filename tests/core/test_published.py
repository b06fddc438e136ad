"""Published numbers as data: the shipped files load and hold the paper's numbers as the digest gives them, and
a malformed file is refused with one line naming the file and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hybridbench.errors import HybridbenchError
from hybridbench.published import NOT_STATED, PUBLISHED_DIR, load_all, load_published

HYBRIDCODEC = PUBLISHED_DIR / "hybridcodec-2606.06743.json"
LS = "librispeech-test-clean"


def _cell(paper, model, metric, depth, suite=LS, updates=60000):
    hits = [
        c
        for c in paper.claims
        if (c.model, c.metric, c.depth, c.suite) == (model, metric, depth, suite)
        and c.protocol.training_updates == updates
    ]
    assert len(hits) == 1, hits
    return hits[0]


def test_every_published_file_loads_and_the_readme_lists_it():
    papers = load_all()
    assert papers, "leaderboards/published holds no paper"
    readme = (PUBLISHED_DIR / "README.md").read_text(encoding="utf-8")
    for paper in papers:
        assert f"`{paper.path.name}`" in readme
        assert all(c.citation == paper.citation and c.source == paper.source for c in paper.claims)


def test_the_hybridcodec_file_holds_the_digest_table():
    paper = load_published(HYBRIDCODEC)
    assert paper.citation.arxiv == "2606.06743" and "PROTOCOL.md" in paper.source
    # The main table: RVQ-1 WER, RVQ-1:12 WER, SIM, UTMOS, PESQ for every model (PROTOCOL.md).
    table = {
        "DAC": (43.22, 4.55, 0.60, 3.51, 2.36),
        "DAC (Distill)": (21.54, 4.39, 0.62, 3.53, 2.37),
        "DualCodec": (18.93, 4.80, 0.61, 3.45, 2.31),
        "HybridCodec": (15.36, 4.46, 0.58, 3.44, 2.27),
    }
    for model, (w1, w12, sim, utmos, pesq) in table.items():
        assert _cell(paper, model, "wer", 1).value == w1
        assert _cell(paper, model, "wer", 12).value == w12
        assert _cell(paper, model, "speaker-sim", 12).value == sim
        assert _cell(paper, model, "utmos", 12).value == utmos
        assert _cell(paper, model, "pesq", 12).value == pesq
    # RTF on an RTX A6000; DAC's cell is "–" in the paper, so it has no claim.
    rtf = {c.model: c for c in paper.claims if c.metric == "rtf"}
    assert {m: c.value for m, c in rtf.items()} == {
        "DAC (Distill)": 0.005,
        "DualCodec": 0.042,
        "HybridCodec": 0.014,
    }
    assert {c.protocol.hardware for c in rtf.values()} == {"RTX A6000"}
    # The 300k-update row, the out-of-domain and cross-lingual cells.
    assert _cell(paper, "HybridCodec", "wer", 1, updates=300000).value == 12.96
    assert _cell(paper, "HybridCodec", "wer", 12, updates=300000).value == 3.63
    assert _cell(paper, "HybridCodec", "wer", 1, suite="seedtts-en").value == 30.37
    assert _cell(paper, "HybridCodec", "wer", 1, suite="commonvoice-fr").value == 106.41
    assert _cell(paper, "DAC (Distill)", "wer", 1, suite="commonvoice-fr").value == 112.56
    assert len(paper.claims) == 28


def test_the_hybridcodec_protocol_says_what_the_digest_does_and_does_not_state():
    paper = load_published(HYBRIDCODEC)
    main = _cell(paper, "DualCodec", "wer", 1)
    assert main.unit == "%" and main.protocol.asr_model == "whisper-large-v3"
    assert main.protocol.weights == "trained"  # the paper retrained its baselines
    assert main.protocol.normalizer == NOT_STATED and main.protocol.averaging == NOT_STATED
    pesq = _cell(paper, "HybridCodec", "pesq", 12)
    assert pesq.pesq_band == NOT_STATED and main.pesq_band is None
    # The digest names Whisper large-v3 for the LibriSpeech table only.
    assert _cell(paper, "HybridCodec", "wer", 1, suite="seedtts-en").protocol.asr_model == NOT_STATED


def _valid() -> dict:
    return json.loads(HYBRIDCODEC.read_text(encoding="utf-8"))


def _set(path: str, value):
    """A mutation of the valid document: set (or with value _DELETE, remove) the field at a dotted path."""

    def mutate(doc: dict) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (_set("claims.0.value", "43.22"), "claims[0].value", "must be a non-negative number"),
        (_set("claims.0.unit", "fraction"), "claims[0].unit", "wer is given in '%'"),
        (_set("claims.0.vaule", 1.0), "claims[0].vaule", "unknown field"),
        (_set("claims.0.metric", "wer%"), "claims[0].metric", "is not one of"),
        (_set("claims.0.depth", 0), "claims[0].depth", "positive integer"),
        (_set("claims.0.suite", "LibriSpeech test-clean"), "claims[0].suite", "not a suite name"),
        (_set("claims.0.protocol", {"averaging": "median"}), "claims[0].protocol.averaging", "'median'"),
        (_set("protocol.weights", "retrained"), "protocol.weights", "is not one of trained, public"),
        (_set("protocol.normalizer", _DELETE), "protocol.normalizer", "missing"),
        (_set("paper.title", _DELETE), "paper.title", "missing"),
        (_set("paper.arxiv", "arXiv:2606.06743"), "paper.arxiv", "not an arXiv id"),
        (_set("format", 2), "format", "must be 1"),
        (_set("claims", []), "claims", "non-empty list"),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_the_field(tmp_path: Path, mutate, field, problem):
    doc = copy.deepcopy(_valid())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(HybridbenchError) as err:
        load_published(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: ") and problem in message


def test_a_repeated_claim_and_a_file_that_is_not_json_are_refused(tmp_path: Path):
    doc = _valid()
    doc["claims"].append(doc["claims"][0])
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(HybridbenchError, match=r"claims\[28\]: repeats claims\[0\]"):
        load_published(path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1,', encoding="utf-8")
    with pytest.raises(HybridbenchError, match="broken.json: not JSON"):
        load_published(broken)
    with pytest.raises(HybridbenchError, match="no such claims file"):
        load_published(tmp_path / "absent.json")


def test_a_claim_protocol_overrides_only_the_fields_it_names(tmp_path: Path):
    doc = _valid()
    doc["claims"] = [doc["claims"][0] | {"protocol": {"normalizer": "whisper-english", "sample_rate": 16000}}]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    (claim,) = load_published(path).claims
    assert claim.protocol.normalizer == "whisper-english" and claim.protocol.sample_rate == 16000
    assert claim.protocol.asr_model == "whisper-large-v3" and claim.protocol.training_updates == 60000
