"""--batch-items: a batched run stores the rows an unbatched run stores (same keys, the same numbers within the
tolerances of tests/codecs/test_batch_exact.py), says how each row was batched, and one bad item of a batch
fails alone."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hybridbench.codecs import CODECS
from hybridbench.codecs.identity import IdentityCodec
from hybridbench.errors import HybridbenchError
from hybridbench.report.tables import rtf_batch_phrase
from hybridbench.results import open_run
from hybridbench.run_plan import RunConfig, WorkUnit
from hybridbench.runner import Runner, work_groups
from hybridbench.store import ResultStore

# Signal metrics of a batched decode against one by one (tests/codecs/test_batch_exact.py measures the audio).
METRIC_ATOL = {"pesq-wb": 1e-3, "stoi": 1e-5, "speaker-sim-resemblyzer": 1e-4}


@pytest.fixture(scope="module")
def batched_run(tmp_path_factory, small_run_settings):
    """The small run's settings, three items per batch."""
    out = tmp_path_factory.mktemp("batched-run")
    config = RunConfig(**small_run_settings, out=out, batch_items=3)
    return config, Runner(config).run()


def _rows(folder) -> dict:
    with ResultStore(folder / "results.sqlite") as store:
        return {row.key: row for row in store.rows()}


def test_batching_is_not_in_the_row_keys(small_run, batched_run):
    config, summary = batched_run
    assert summary.failed == 0
    assert set(_rows(config.out)) == set(_rows(small_run))
    # So a batched run resumes an unbatched one (and the other way round) without recomputing a row.
    assert Runner(dataclasses.replace(config, out=small_run)).plan().rows_to_compute == 0


def test_a_batched_run_stores_the_unbatched_transcripts_and_scores(small_run, batched_run):
    config, _ = batched_run
    batched, alone = _rows(config.out), _rows(small_run)
    for key, row in alone.items():
        got = batched[key].payload
        for metric, atol in METRIC_ATOL.items():
            assert got["metrics"][metric] == pytest.approx(row.payload["metrics"][metric], abs=atol)
        assert got["num_codes"] == row.payload["num_codes"]
    # The ASR hears each item's depths in one call, as unbatched. The identity's audio is bit-exact in a batch:
    # the same transcripts. A codec's batched audio may differ at float level (~1e-7, tests/codecs), and where
    # its shallow depths leave the ASR on a near-tie that can flip a word: most transcripts must still agree.
    same = {k: batched[k].payload["transcript"] == row.payload["transcript"] for k, row in alone.items()}
    assert all(same[k] for k, row in alone.items() if row.codec == "identity")
    assert sum(same.values()) >= 0.75 * len(same), f"{len(same) - sum(same.values())} transcripts differ"


def test_each_row_says_how_it_was_batched(small_run, batched_run):
    config, _ = batched_run
    rows = list(_rows(config.out).values())
    # Four items in groups of three: a padded batch of three and one item alone, for the batch-exact codecs.
    for codec in ("identity", "dac-mini"):
        sizes = sorted(r.payload["batch_size"] for r in rows if r.codec == codec and r.depth == 1)
        assert sizes == [1, 3, 3, 3]
        assert {r.payload["batch_mode"] for r in rows if r.codec == codec} == {"padded"}
    # G.722 is batched by equal length only, and the synthetic items all differ in length.
    g722 = [r.payload for r in rows if r.codec == "g722"]
    assert {p["batch_mode"] for p in g722} == {"equal-length"} and {p["batch_size"] for p in g722} == {1}
    provenance = open_run(config.out).provenance
    assert provenance["batch_size"] == 3
    assert provenance["batching"] == {"identity": "padded", "dac-mini": "padded", "g722": "equal-length"}
    assert rtf_batch_phrase(rows).startswith("batch up to 3 (")  # the RTF note of the tables

    # Listening clips are kept from a batched run as from an unbatched one.
    def clips(folder):
        return sorted(p.relative_to(folder) for p in (folder / "listen").rglob("*.flac"))

    assert clips(config.out) and clips(config.out) == clips(small_run)


def test_a_batchs_time_is_shared_by_audio_samples(batched_run):
    config, _ = batched_run
    batch = [
        r.payload for r in _rows(config.out).values() if r.codec == "dac-mini" and r.depth == 1
        and r.payload["batch_size"] == 3
    ]  # fmt: skip
    per_second = [p["encode_s"] / p["audio_s"] for p in batch]
    assert per_second == pytest.approx([per_second[0]] * 3, rel=1e-9)


@CODECS.register()
class PlantedBatchCodec(IdentityCodec):
    """The identity, batch-exact, failing whenever the batch it is given holds one planted item."""

    name = "test-planted-batch"
    fail_stage: str = ""  # "encode" or "decode"
    fail_on_samples: int = -1  # the planted item's length without its trailing zeros (the same padded or not)

    def encode(self, wav):
        if self.fail_stage == "encode" and self._holds_planted(wav):
            raise RuntimeError("planted failure")
        return super().encode(wav)

    def _decode(self, codes):
        wav = super()._decode(codes)
        if self.fail_stage == "decode" and self._holds_planted(wav):
            raise RuntimeError("planted failure")
        return wav

    def _holds_planted(self, wav: torch.Tensor) -> bool:
        for row in wav[:, 0]:
            nonzero = torch.nonzero(row.abs() > 1e-9)
            if nonzero.numel() and int(nonzero[-1]) + 1 == self.fail_on_samples:
                return True
        return False


@pytest.mark.parametrize("stage", ["encode", "decode"])
def test_a_failing_item_of_a_batch_fails_alone(stage, tmp_path, synthetic_en_items):
    from hybridbench.audio import load_tensor

    planted = synthetic_en_items[1]
    pcm = load_tensor(planted.audio_path, 16000)[0, 0]
    PlantedBatchCodec.fail_stage = stage
    PlantedBatchCodec.fail_on_samples = int(torch.nonzero(pcm.abs() > 1e-9)[-1]) + 1
    config = RunConfig(
        codecs=["test-planted-batch"], suites=["synthetic-en"], out=tmp_path, limit=3, asr="whisper-tiny.en",
        metrics=["stoi"], timing_repeats=1, include_reference=False, batch_items=3,
    )  # fmt: skip
    try:
        summary = Runner(config).run()
    finally:
        PlantedBatchCodec.fail_stage = ""
    assert (summary.computed, summary.failed) == (3, 1)
    rows = list(_rows(tmp_path).values())
    failed = [r for r in rows if r.status == "failed"]
    assert [(r.item_id, r.error) for r in failed] == [(planted.id, f"{stage}: RuntimeError: planted failure")]
    ok = [r for r in rows if r.status == "ok"]
    assert len(ok) == 2 and all(r.payload["transcript"] and "stoi" in r.payload["metrics"] for r in ok)
    # The batch mates were retried one by one: their rows say so.
    field = "batch_size" if stage == "encode" else "decode_batch_size"
    assert {r.payload[field] for r in ok} == {1}


def _unit(codec: str, suite: str, item: str) -> WorkUnit:
    plan = type("Plan", (), {"name": codec})()
    return WorkUnit(plan, suite, type("Item", (), {"id": item})(), {1: item})


def test_work_is_grouped_by_codec_and_suite_in_order():
    work = [_unit("a", "s", "1"), _unit("a", "s", "2"), _unit("a", "s", "3"), _unit("a", "t", "4"),
            _unit("b", "t", "5"), _unit("b", "t", "6")]  # fmt: skip
    groups = [[u.item.id for u in g] for g in work_groups(work, 2)]
    assert groups == [["1", "2"], ["3"], ["4"], ["5", "6"]]
    assert [len(g) for g in work_groups(work, 1)] == [1] * 6


def test_batch_items_below_one_is_refused(tmp_path):
    with pytest.raises(HybridbenchError, match="--batch-items must be at least 1"):
        Runner(RunConfig(codecs=["identity"], suites=["synthetic-en"], out=tmp_path, batch_items=0))


def test_the_run_command_takes_batch_items(tmp_path, capsys):
    from hybridbench.cli import main

    argv = ["run", "--codecs", "identity", "--suites", "synthetic-en", "--limit", "2", "--out", str(tmp_path)]
    assert main([*argv, "--batch-items", "4", "--dry-run"]) == 0
    assert "2 rows to compute" in capsys.readouterr().out
    assert main([*argv, "--batch-items", "0", "--dry-run"]) == 2
    assert "--batch-items must be at least 1" in capsys.readouterr().err
