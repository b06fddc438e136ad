"""A DualCodec design runs its teacher at inference: the run times the teacher alone once more, so reports split
encode RTF into SSL extraction and the rest."""

from __future__ import annotations

import torch

from hybridbench.codecs import CODECS
from hybridbench.results import open_run
from hybridbench.runner import RunConfig, Runner


def test_semantic_features_are_the_teacher_input_of_encode():
    codec = CODECS.get("dualcodec-mini").load()
    assert type(codec).ssl_timed_apart and codec.info().needs_ssl_at_inference
    wav = torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    feats = codec.semantic_features(wav)
    assert torch.equal(feats, codec.codec.teacher_features(wav))
    assert feats.shape[-1] == codec.encode(wav).shape[-1]  # one teacher frame per code frame


def test_a_run_records_the_ssl_share_of_encoding(tmp_path):
    config = RunConfig(
        codecs=["dualcodec-mini"], suites=["synthetic-en"], out=tmp_path, depths=[1], asr="whisper-tiny.en",
        limit=2, metrics=[], timing_repeats=1, include_reference=False,
    )  # fmt: skip
    Runner(config).run()
    run = open_run(tmp_path)
    for row in run.rows:
        assert 0 < row.payload["ssl_s"] <= row.payload["encode_s"] * 1.5  # timed apart: noise either way
    summary = run.summary.iloc[0]
    items = run.items
    assert summary["rtf_ssl"] == items["ssl_s"].sum() / items["audio_s"].sum()
