"""Tokenizer cards: known answers for token rates, vocabularies and latency; which codecs get no card; the
speaker-identity figures read from the summary; and on a real run, codebook usage equal to `codebook_usage` on
the stored codes, "not stored" where the run kept none, and the files written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from hybridbench.errors import HybridbenchError
from hybridbench.report.cards import (
    NOT_STORED,
    SPEAKER_HINT,
    card_skip_reason,
    latency,
    speaker_identity,
    token_rates,
    tokenizer_card,
    tokenizer_cards,
    write_cards,
)
from hybridbench.results import open_run
from hybridbench.usage import codebook_usage

PAPER_SIZES = [16384] + [1024] * 11  # HybridCodec / DualCodec 25 Hz: one semantic codebook + 11 acoustic


def info(**overrides) -> dict:
    """CodecInfo.to_dict() of a 25 Hz, 12-codebook causal codec, as a run stores it."""
    return {
        "name": "paper-codec",
        "sample_rate": 24000,
        "frame_rate": 25.0,
        "codebook_sizes": PAPER_SIZES,
        "causal": True,
        "streamable": True,
        "needs_ssl_at_inference": False,
        "depth_kind": "residual",
        "valid_depths": None,
        "depth_bitrates": None,
        "extra": {},
    } | overrides


def test_token_rate_vocabulary_and_bitrate_known_answers():
    rates = token_rates(info())
    assert [r["depth"] for r in rates] == list(range(1, 13))
    full = rates[-1]
    assert full["tokens_per_s"] == 300.0  # 25 frames/s x 12 codebooks
    assert full["flat_vocabulary"] == 16384 + 11 * 1024
    assert full["kbps"] == pytest.approx(25 * (14 + 11 * 10) / 1000)  # 3.1 kbit/s
    assert rates[0]["tokens_per_s"] == 25.0 and rates[0]["kbps"] == pytest.approx(0.35)
    assert rates[0]["vocabulary"] == [16384] and rates[1]["vocabulary"] == [16384, 1024]
    # A multi-scale codec lists only the depths that decode.
    snac = token_rates(info(codebook_sizes=[4096] * 7, frame_rate=11.71875, valid_depths=[1, 3, 7]))
    assert [(r["depth"], r["tokens_per_s"]) for r in snac] == [(1, 11.71875), (3, 35.15625), (7, 82.03125)]


def test_latency_of_causal_and_non_causal_codecs():
    assert latency(info())["algorithmic_latency_ms"] == 40.0  # one 25 Hz frame, no look-ahead
    delayed = latency(info(sample_rate=16000, frame_rate=8000.0, extra={"delay_samples": 22}))
    assert delayed["algorithmic_latency_ms"] == pytest.approx(0.125 + 1.375)
    assert latency(info(causal=False)) == {"causal": False, "note": "not causal: needs the whole utterance"}


def test_which_codecs_get_no_card():
    assert "not a tokenizer" in card_skip_reason(info(name="identity"))
    simulcast = info(name="opus", depth_kind="operating-points", extra={"layering": "simulcast: depth k ..."})
    assert "bitstream symbols" in card_skip_reason(simulcast)
    assert "bitstream symbols" in card_skip_reason(info(extra={"layering": "simulcast"}))
    assert card_skip_reason(info()) is None


def test_speaker_identity_at_rvq1_full_depth_and_the_original():
    metric = "speaker-sim-resemblyzer"
    summary = pd.DataFrame.from_records(
        [
            {"suite": "s", "codec": "identity", "depth": 1, metric: 1.0, f"{metric}_n": 4},
            {
                "suite": "s",
                "codec": "c",
                "depth": 1,
                metric: 0.6,
                f"{metric}_low": 0.5,
                f"{metric}_high": 0.7,
                f"{metric}_n": 4,
            },
            {"suite": "s", "codec": "c", "depth": 12, metric: 0.9, f"{metric}_n": 3},
        ]
    )
    found = speaker_identity(summary, "c", "s")["metrics"][metric]
    assert found["depth_1"] == {"depth": 1, "value": 0.6, "low": 0.5, "high": 0.7, "n": 4}
    assert (found["full_depth"]["depth"], found["full_depth"]["value"], found["full_depth"]["n"]) == (
        12,
        0.9,
        3,
    )
    assert found["original"]["value"] == 1.0
    without = summary.drop(columns=[c for c in summary.columns if c.startswith(metric)])
    assert speaker_identity(without, "c", "s") == {"measured": False, "note": SPEAKER_HINT}


def test_cards_of_a_real_run(small_run, tmp_path):
    run = open_run(small_run)
    cards, skipped = tokenizer_cards(run)
    # G.722's codes are its bitstream's 8,000 codewords/s, not tokens: no card, and the run keeps none of them.
    assert set(skipped) == {"identity", "g722"} and "not tokens" in skipped["g722"]
    assert run.codes("g722", "synthetic-en") == {}
    by_codec = {c.codec: c for c in cards}
    assert set(by_codec) == {"dac-mini"}

    dac = by_codec["dac-mini"].facts
    codes = run.codes("dac-mini", "synthetic-en")
    assert codes, "the run stored no codes for dac-mini"
    expected = codebook_usage(
        [torch.from_numpy(c.astype("int64")) for c in codes.values()], tuple(dac["codebook_sizes"])
    )
    usage = dac["codebook_usage"]["synthetic-en"]
    assert usage["items"] == 4 and usage["frames"] == sum(c.shape[1] for c in codes.values())
    assert usage["codebooks"] == [u.to_dict() for u in expected]
    assert dac["depths"][-1]["tokens_per_s"] == dac["frame_rate"] * 12
    assert dac["parameters"] == run.codec_info("dac-mini")["parameters"] > 0
    spk = dac["speaker_identity"]["synthetic-en"]["metrics"]["speaker-sim-resemblyzer"]
    top = run.summary.query("codec == 'dac-mini' and depth == 12").iloc[0]
    assert spk["full_depth"]["value"] == pytest.approx(top["speaker-sim-resemblyzer"])
    assert spk["depth_1"]["depth"] == 1 and spk["original"] is not None

    # A run made before codes were stored: the card says so instead of counting nothing.
    older = open_run(small_run)
    older.codes = lambda codec, suite: {}
    assert tokenizer_card(older, "dac-mini").facts["codebook_usage"]["synthetic-en"] == {
        "stored": False,
        "note": NOT_STORED,
    }

    with pytest.raises(HybridbenchError, match="no tokenizer card"):
        tokenizer_card(run, "identity")
    with pytest.raises(HybridbenchError, match="not in this run"):
        tokenizer_card(run, "no-such-codec")

    write_cards(cards, tmp_path)
    card = by_codec["dac-mini"]
    assert card.files == {"md": Path("cards/dac-mini.md"), "json": Path("cards/dac-mini.json")}
    assert json.loads((tmp_path / card.files["json"]).read_text()) == json.loads(json.dumps(card.facts))
    md = (tmp_path / card.files["md"]).read_text()
    assert f"over all {usage['frames']} frames of the 4 items" in md and "| 12 | 25.00 | 300.0 |" in md
