"""What RVQ-1 carries: the leaderboard's probe section, its paired differences and its cache."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from hybridcodec.measure import CodesProbe, paired_r2_difference
from minireplication.mechanism import CACHE_VERSION, _cached, probe_section

SST = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)


def _probe(name: str, unexplained: float, jitter: float = 0.0) -> CodesProbe:
    # Per-utterance residuals a fixed share of each utterance's total, varied a little so the bootstrap has spread.
    sse = tuple(t * (unexplained + jitter * (-1) ** i) for i, t in enumerate(SST))
    r2 = 1 - sum(sse) / sum(SST)
    return CodesProbe(name, "asterisk-en-test", 1, r2, 0.8, 1000, 300, sse, SST)


def test_paired_r2_difference_is_a_minus_b_of_r2():
    a, b = _probe("a", 0.80, 0.01), _probe("b", 0.90, 0.02)
    d = paired_r2_difference(a.teacher_sse, a.teacher_sst, b.teacher_sse, b.teacher_sst)
    assert d["difference"] == pytest.approx(a.teacher_r2 - b.teacher_r2)
    assert d["difference"] == pytest.approx(0.10, abs=0.01)
    assert d["low"] <= d["difference"] <= d["high"] and d["low"] > 0  # A explains more on every utterance
    assert d["pairs"] == len(SST)


def test_section_has_every_codec_and_the_papers_comparisons():
    probes = {
        "hybridcodec-mini": _probe("hybridcodec-mini", 0.70, 0.01),
        "dualcodec-mini": _probe("dualcodec-mini", 0.60, 0.01),
        "dac-distill-mini": _probe("dac-distill-mini", 0.80, 0.01),
        "dac-mini": _probe("dac-mini", 0.85, 0.01),
    }
    text = probe_section(probes, fit_label="the corpus")
    for name, p in probes.items():
        assert f"| {name} | {p.teacher_r2:.3f} | 0.800 | 1000 | 300 |" in text
    assert "| hybridcodec-mini − dualcodec-mini | -0.100 [" in text
    assert "| hybridcodec-mini − dac-mini | +0.150 [" in text
    assert "| dac-distill-mini − dac-mini | +0.050 [" in text
    assert "fitted on the corpus" in text
    assert "Distillation took" in text  # the control's interval is wholly above 0
    # The same control with distillation adding nothing: the RVQ-1 verdicts are said not to test the mechanism.
    flat = probes | {"dac-distill-mini": _probe("dac-distill-mini", 0.85, 0.02)}
    assert "Distillation did not take here" in probe_section(flat, fit_label="the corpus")
    # A codec missing (not shipped here) drops its comparisons rather than failing.
    del probes["dualcodec-mini"]
    assert "dualcodec-mini" not in probe_section(probes, fit_label="the corpus")


def test_a_cached_probe_is_reused_only_for_the_same_weights_and_version(tmp_path: Path):
    probe = _probe("dac-mini", 0.85, 0.01)
    record = {"version": CACHE_VERSION, "weights_sha256": "abc", "probe": asdict(probe)}
    (tmp_path / "dac-mini.json").write_text(json.dumps(record))
    assert _cached(tmp_path, "dac-mini", "abc") == probe
    assert _cached(tmp_path, "dac-mini", "other weights") is None
    assert _cached(tmp_path, "hybridcodec-mini", "abc") is None
    (tmp_path / "dac-mini.json").write_text(json.dumps(record | {"version": CACHE_VERSION - 1}))
    assert _cached(tmp_path, "dac-mini", "abc") is None


@pytest.mark.slow
def test_shipped_mini_probe_on_real_speech_is_measured_once(tmp_path: Path, monkeypatch):
    from hybridbench.suites import SUITES
    from hybridcodec import measure
    from minireplication.mechanism import measure_probes

    if not SUITES.get("asterisk-en-test").status().available:
        pytest.skip("asterisk-en-test is not prepared here (hybridbench data prepare asterisk-en)")
    files = measure.utterances("asterisk-en-test")
    fit, held = files[:60], files[60:80]
    probe = measure_probes(["dac-mini"], fit=fit, held=held, folder=tmp_path)["dac-mini"]
    # RVQ-1 codes carry far more of the spectrum than of the contextual teacher target, and both are held-out R2.
    assert 0 < probe.teacher_r2 < probe.logmel_r2 < 1
    assert len(probe.teacher_sse) == len(held) and probe.fit_frames > probe.held_frames
    monkeypatch.setattr(
        measure, "encode_files", lambda *a, **k: pytest.fail("the cached probe was measured again")
    )
    assert measure_probes(["dac-mini"], fit=fit, held=held, folder=tmp_path)["dac-mini"] == probe
