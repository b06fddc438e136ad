"""Codebook usage: known answers on planted code histograms, and the command on a shipped mini codec."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hybridbench.cli import main
from hybridbench.usage import codebook_usage


def test_uniform_single_and_skewed_codebooks_give_their_known_perplexities():
    uniform = torch.arange(4).repeat(25)  # 4 of 8 entries, equally often
    single = torch.full((100,), 5)
    skewed = torch.cat([torch.zeros(75), torch.ones(25)]).long()  # p = (3/4, 1/4)
    # Two utterances: the counts are over all frames of both.
    codes = [torch.stack([uniform, single, skewed])[:, :60], torch.stack([uniform, single, skewed])[:, 60:]]
    u, s, k = codebook_usage(codes, (8, 8, 2))
    assert (u.used, u.frames, u.perplexity, u.bits, u.used_fraction) == (4, 100, pytest.approx(4.0), 2.0, 0.5)
    assert (s.used, s.perplexity, s.bits) == (1, 1.0, 0.0)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert k.perplexity == pytest.approx(math.exp(entropy)) and k.bits == pytest.approx(entropy / math.log(2))
    assert [x.codebook for x in (u, s, k)] == [1, 2, 3]


def test_codes_and_sizes_must_agree():
    with pytest.raises(ValueError, match="3 codebooks"):
        codebook_usage([torch.zeros(3, 5, dtype=torch.long)], (8, 8))


def test_usage_command_counts_every_frame_of_a_shipped_mini(tmp_path, capsys):
    out = tmp_path / "usage.json"
    assert (
        main(["usage", "--codecs", "dac-mini", "--suite", "synthetic-en", "--limit", "3", "--json", str(out)])
        == 0
    )
    result = json.loads(out.read_text())
    rows = result["codecs"]["dac-mini"]
    assert result["items"] == 3 and len(rows) == 12
    assert len({r["frames"] for r in rows}) == 1 and rows[0]["frames"] > 3 * 25  # > 1 s of 25 Hz frames each
    for r in rows:
        assert 1 <= r["perplexity"] <= r["used"] <= min(r["size"], r["frames"])
    assert "| dac-mini | 12 | 1024 |" in capsys.readouterr().out


def test_usage_refuses_a_classic_codec_in_one_line(capsys):
    assert main(["usage", "--codecs", "opus", "--suite", "synthetic-en", "--limit", "1"]) == 2
    assert "bitstream symbols, not quantizer indices" in capsys.readouterr().err
