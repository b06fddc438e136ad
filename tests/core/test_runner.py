"""End to end: real synthesized speech, a real Whisper, real metrics, a real SQLite store on disk."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
import torch

from hybridbench.codecs import CODECS, Codec, DepthKind
from hybridbench.errors import HybridbenchError
from hybridbench.report.aggregate import item_frame, summarize
from hybridbench.runner import RunConfig, Runner
from hybridbench.store import ResultStore


class _TestCodec(Codec):
    sample_rate = 16000
    frame_rate = 16000.0
    codebook_sizes = (65536, 65536)

    @classmethod
    def load(cls, *, weights=None, device="cpu"):
        return cls(device=device)

    def encode(self, wav):
        pcm = torch.round(wav.clamp(-1, 1) * 32767).long() + 32768
        return torch.cat([pcm, pcm], dim=1)

    def _decode(self, codes):
        return (codes[:, :1] - 32768).float() / 32767


@CODECS.register()
class NoisyCodec(_TestCodec):
    """Adds white noise at 5 dB SNR at depth 1 and 15 dB at depth 2: a known, graded degradation."""

    name = "test-noisy"

    def _decode(self, codes):
        clean = super()._decode(codes)
        snr_db = 5.0 if codes.shape[1] == 1 else 15.0
        gen = torch.Generator().manual_seed(0)
        noise = torch.randn(clean.shape, generator=gen)
        noise *= clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() / 10 ** (snr_db / 20)
        return clean + noise


@CODECS.register()
class FlakyCodec(_TestCodec):
    """Raises on inputs of one planted length: a codec that fails on one item."""

    name = "test-flaky"
    fail_on_samples: int = -1

    def encode(self, wav):
        if wav.shape[-1] == self.fail_on_samples:
            raise RuntimeError("planted failure")
        return super().encode(wav)


def _summary(out, suite="synthetic-en"):
    with ResultStore(out / "results.sqlite") as store:
        rows = list(store.rows())
    s = summarize(item_frame(rows), ["pesq-wb", "stoi"])
    return s[s["suite"] == suite].set_index(["codec", "depth"])


@pytest.fixture(scope="module")
def identity_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("identity-run")
    config = RunConfig(
        codecs=["identity"], suites=["synthetic-en"], out=out, asr="whisper-tiny.en", timing_repeats=1
    )
    return config, Runner(config).run()


def test_identity_wer_on_synthetic_english_is_below_10_percent(identity_run):
    config, summary = identity_run
    assert summary.computed == 24 and summary.failed == 0
    s = _summary(config.out).loc[("identity", 1)]
    assert s["items"] == 24
    assert s["wer"] < 0.10
    assert s["pesq-wb"] == pytest.approx(4.644, abs=0.01)
    assert s["stoi"] == pytest.approx(1.0, abs=1e-4)
    assert s["rtf_encode"] > 0 and s["rtf_decode"] > 0


def test_second_run_does_no_new_work(identity_run, monkeypatch):
    config, _ = identity_run

    def must_not_load(*args, **kwargs):
        raise AssertionError("a codec was loaded although every row was stored")

    monkeypatch.setattr(Runner, "_load_codec", must_not_load)
    monkeypatch.setattr(Runner, "transcriber", must_not_load)
    again = Runner(config).run()
    assert (again.computed, again.reused) == (0, 24)
    with sqlite3.connect(config.out / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 24
        assert db.execute("SELECT COUNT(*) FROM invocations").fetchone()[0] == 2


def test_the_plan_counts_stored_rows_and_a_dry_run_writes_nothing(identity_run, tmp_path, capsys):
    from hybridbench.cli import main

    config, _ = identity_run
    plan = Runner(config).plan()
    assert plan.rows_to_compute == 0 and plan.summary.reused == 24
    assert plan.table() == [
        {"codec": "identity", "suite": "synthetic-en", "depths": "1", "items": 24, "rows": 24, "stored": 24,
         "to compute": 0, "asr": "whisper-tiny.en"}
    ]  # fmt: skip
    fresh = tmp_path / "fresh"
    argv = ["run", "--codecs", "identity", "--suites", "synthetic-en", "--limit", "2", "--out", str(fresh)]
    assert main([*argv, "--dry-run", "--depths", "1"]) == 0
    assert "2 rows to compute, 0 stored already" in capsys.readouterr().out
    assert not fresh.exists()


def test_run_folder_records_provenance_and_data_hashes(identity_run):
    config, _ = identity_run
    manifest = pd.read_json(config.out / "manifest-synthetic-en.jsonl", lines=True)
    assert len(manifest) == 24 and manifest["sha256"].str.len().eq(64).all()
    provenance = (config.out / "provenance.json").read_text()
    for needle in ("torch", "faster-whisper", "asr_model_sha256", "1a5afae06a4db91c", "resampler"):
        assert needle in provenance


def test_noise_lowers_signal_metrics_monotonically(tmp_path):
    config = RunConfig(
        codecs=["test-noisy"],
        suites=["synthetic-en"],
        out=tmp_path,
        limit=3,
        asr="whisper-tiny.en",
        timing_repeats=1,
        include_reference=False,
    )
    summary = Runner(config).run()
    assert summary.computed == 6 and summary.failed == 0
    s = _summary(tmp_path)
    assert s.loc[("test-noisy", 1), "pesq-wb"] < s.loc[("test-noisy", 2), "pesq-wb"] < 3.0
    assert s.loc[("test-noisy", 1), "stoi"] < s.loc[("test-noisy", 2), "stoi"] < 0.99


def test_signal_metrics_at_full_depth_only_skip_the_other_depths_and_key_them_apart(tmp_path):
    config = RunConfig(
        codecs=["test-noisy"],
        suites=["synthetic-en"],
        out=tmp_path,
        limit=2,
        asr="whisper-tiny.en",
        metrics=["stoi"],
        timing_repeats=1,
        signal_full_depth_only=["test-noisy"],
    )
    assert Runner(config).run().computed == 6  # identity + 2 depths of test-noisy, 2 items
    with ResultStore(tmp_path / "results.sqlite") as store:
        rows = {(r.codec, r.depth): r.payload for r in store.rows()}
    shallow, full = rows[("test-noisy", 1)], rows[("test-noisy", 2)]
    assert shallow["metrics"] == {} and shallow["signal_metrics"] == [] and shallow["transcript"]
    assert set(full["metrics"]) == {"stoi"} and full["signal_metrics"] == ["stoi"]
    assert set(rows[("identity", 1)]["metrics"]) == {"stoi"}  # not in the list: every depth scored
    table = _summary(tmp_path)
    assert table.loc[("test-noisy", 1), ["stoi_n", "stoi_failed"]].tolist() == [0, 0]  # not run, not failed
    assert table.loc[("test-noisy", 2), ["stoi_n", "stoi_failed"]].tolist() == [2, 0]
    # Scored and unscored rows have different keys: scoring every depth reuses only the rows that were scored.
    again = Runner(RunConfig(**{**config.__dict__, "signal_full_depth_only": []})).run()
    assert (again.computed, again.reused) == (2, 4)


def test_a_codec_failing_on_one_item_leaves_a_failure_row_and_the_rest_complete(tmp_path, synthetic_en_items):
    planted = synthetic_en_items[1]
    FlakyCodec.fail_on_samples = round(planted.duration * 16000)
    config = RunConfig(
        codecs=["test-flaky"],
        suites=["synthetic-en"],
        out=tmp_path,
        limit=3,
        asr="whisper-tiny.en",
        timing_repeats=1,
        include_reference=False,
    )
    summary = Runner(config).run()
    assert summary.computed == 6 and summary.failed == 2  # both depths of the planted item
    with ResultStore(tmp_path / "results.sqlite") as store:
        rows = list(store.rows())
    failed = [r for r in rows if r.status == "failed"]
    assert {r.item_id for r in failed} == {planted.id}
    assert all(r.error == "encode: RuntimeError: planted failure" for r in failed)
    assert sum(r.status == "ok" for r in rows) == 4
    s = _summary(tmp_path).loc[("test-flaky", 2)]
    assert (s["items"], s["failed"]) == (3, 1)
    # Failures are stored results too: a rerun does not retry them unless asked to.
    assert Runner(config).run().computed == 0
    FlakyCodec.fail_on_samples = -1
    retried = Runner(RunConfig(**{**config.__dict__, "retry_failed": True})).run()
    assert (retried.computed, retried.failed) == (2, 0)


def test_batched_transcription_equals_one_by_one(synthetic_en_items):
    from hybridbench.audio import load_tensor
    from hybridbench.metrics.asr import ASR_PROFILES, Transcriber

    audios = [load_tensor(item.audio_path, 16000)[0, 0].numpy() for item in synthetic_en_items[:4]]
    transcriber = Transcriber(ASR_PROFILES.get("whisper-tiny.en"))
    one_by_one = [transcriber.transcribe(a, "en") for a in audios]
    assert transcriber.transcribe_batch(audios, "en", batch_size=4) == one_by_one
    assert all(one_by_one)


@CODECS.register()
class ScaleCodec(_TestCodec):
    """Decodes only whole "scales" (depths 1 and 3 of 3 rows), like SNAC."""

    name = "test-scales"
    codebook_sizes = (65536, 65536, 65536)
    depth_kind = DepthKind.MULTI_SCALE

    @classmethod
    def valid_depths(cls):
        return (1, 3)


def test_planned_depths_respect_a_codecs_valid_prefixes(tmp_path):
    from hybridbench.run_plan import RunSummary, plan_codecs

    def depths(requested, full=False):
        cfg = RunConfig(
            codecs=["test-scales"],
            suites=[],
            out=tmp_path,
            depths=requested,
            include_reference=False,
            include_full_depth=full,
        )
        return plan_codecs(cfg, RunSummary())[0].depths

    assert depths(None) == (1, 3)
    assert depths([1]) == (1,)
    assert depths([1, 2], full=True) == (1, 3)
    assert depths([1, 2, 4, 8, 12], full=True) == (1, 3)
    # A depth no codec of the run has is refused (issue 22), no longer dropped or replaced by the full depth.
    with pytest.raises(
        HybridbenchError, match=r"--depths 2: no codec of this run has that depth .*test-scales: 1,3"
    ):
        depths([1, 2])
    with pytest.raises(HybridbenchError, match="--depths 2: no codec"):
        depths([2])


def test_full_depth_is_added_to_residual_stacks_but_not_to_simulcast_operating_points(tmp_path):
    from hybridbench.run_plan import RunSummary, plan_codecs

    cfg = RunConfig(
        codecs=["opus", "amr-nb", "g722"],
        suites=[],
        out=tmp_path,
        depths=[1, 12],
        include_reference=False,
        include_full_depth=True,
    )
    planned = {p.name: p.depths for p in plan_codecs(cfg, RunSummary())}
    # Opus and AMR-NB depths are separate bitrates; G.722's are embedded bit planes of one stream.
    assert planned == {"opus": (1,), "amr-nb": (1,), "g722": (1, 3)}
