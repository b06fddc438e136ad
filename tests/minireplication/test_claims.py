"""The mini-replication leaderboard: verdicts follow the paired intervals, tables hold every codec and depth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hybridbench.store import ResultRow
from hybridcodec.checkpoint import read_metadata
from minireplication import claims as replication
from minireplication.codecs import MINI_CODECS
from minireplication.ship import packaged_path

SUITE = "asterisk-en-test"
N = 40
TEXT = "please enter the number of the mailbox you are calling followed by the pound key"


def _garble(n_errors: int) -> str:
    words = TEXT.split()
    for j in range(n_errors):
        words[j] = "zebra"
    return " ".join(words)


def _row(codec: str, item: int, depth: int, errors: int, encode_s: float) -> ResultRow:
    payload = {
        "text": TEXT, "language": "en", "asr": "whisper-base", "transcript": _garble(errors),
        "metrics": {"pesq-wb": 2.0 + 0.01 * item, "stoi": 0.8}, "metric_failures": {}, "audio_s": 2.0,
        "encode_s": encode_s, "decode_s": 0.01, "bitrate": 3250.0,
    }  # fmt: skip
    return ResultRow(
        f"{codec}-{item}-{depth}", codec, SUITE, f"{SUITE}-{item:03d}", depth, "ok", None, payload
    )


def _rows() -> list[ResultRow]:
    rng = np.random.default_rng(0)
    # Per-item word errors at depth 1: hybrid ~2, dac ~6 (worse), dualcodec ~2 (same), dac-distill ~0 (better).
    # At depth 12 every mini codec makes ~1 error. DualCodec's encoder is 4x slower (its teacher).
    plan = {
        "hybridcodec-mini": (2, 0.02),
        "dac-mini": (6, 0.02),
        "dualcodec-mini": (2, 0.08),
        "dac-distill-mini": (0, 0.01),
    }
    rows = []
    for codec, (mean_err, enc) in plan.items():
        for i in range(N):
            e1 = int(np.clip(mean_err + rng.integers(-1, 2), 0, 10)) if mean_err else 0
            rows.append(_row(codec, i, 1, e1, enc))
            rows.append(_row(codec, i, 12, int(rng.integers(0, 3)), enc))
    for i in range(N):
        rows.append(_row("identity", i, 1, 0, 0.0))
    return rows


def test_verdicts_follow_the_paired_intervals():
    rows = _rows()
    from hybridbench.report.aggregate import item_frame, summarize

    verdicts = {v.claim: v for v in replication.verdicts(rows, summarize(item_frame(rows), ["pesq-wb"]))}
    assert verdicts["RVQ-1 WER of HybridCodec is lower than dac's"].verdict == "held"
    assert verdicts["RVQ-1 WER of HybridCodec is lower than dac-distill's"].verdict == "contradicted"
    assert verdicts["RVQ-1 WER of HybridCodec is lower than dualcodec's"].verdict.startswith("not shown")
    assert verdicts["full-depth WER on par with dac"].verdict.startswith("on par")
    speed = next(v for v in verdicts.values() if "faster than DualCodec" in v.claim)
    assert speed.verdict.startswith("held (minis only") and "encode 4.0x" in speed.here
    target = next(v for v in verdicts.values() if v.claim.startswith("target"))
    assert target.verdict == "met"  # ~1 error in 15 words is ~7 %, below 15 % with its interval
    # A dedicated speed measurement, when given, decides the speed claim instead of the per-item timings.
    measured = {
        "hybridcodec-mini": {"encode": 0.1, "encode+decode": 0.2},
        "dualcodec-mini": {"encode": 0.25, "encode+decode": 0.5},
    }
    summary = summarize(item_frame(rows), ["pesq-wb"])
    speed = next(
        v for v in replication.verdicts(rows, summary, measured) if "faster than DualCodec" in v.claim
    )
    assert (
        speed.verdict.startswith("partly (faster, < 3x)") and "encode 2.5x, encode+decode 2.5x" in speed.here
    )
    assert "mini models" in speed.claim  # labelled as the minis' setting, not the paper's


def test_the_paper_size_measurement_decides_the_speed_claim_and_the_minis_follow():
    from hybridbench.report.aggregate import item_frame, summarize
    from minireplication.paper_speed import DUAL, HYBRID, Subject
    from minireplication.paper_speed import summarize as summarize_speed

    def subject(name, enc, dec):
        s = Subject(name=name, sample_rate=24000, params={}, encode=None, decode=None)
        s.times = {"encode": list(enc), "decode": list(dec)}
        return s

    # Two rounds of 2 s of audio: HybridCodec 0.4 + 0.4 s, then 0.5 + 0.5 s; DualCodec 1.2 + 0.4, 1.0 + 0.5.
    timed = [subject(HYBRID, (0.4, 0.5), (0.4, 0.5)), subject(DUAL, (1.2, 1.0), (0.4, 0.5))]
    paper = summarize_speed(timed, seconds=2.0, batch=1, repeats=2, device="test CPU")
    assert paper.rtf[HYBRID] == {"encode": 0.225, "decode": 0.225, "encode+decode": 0.45}
    assert paper.ratio_rounds == (2.0, 1.5)  # (1.2 + 0.4) / 0.8 and (1.0 + 0.5) / 1.0
    assert paper.speedup == 0.775 / 0.45 and paper.encode_speedup == 1.1 / 0.45

    rows = _rows()
    found = replication.verdicts(rows, summarize(item_frame(rows), ["pesq-wb"]), paper_speed=paper)
    speeds = [v for v in found if "faster than DualCodec" in v.claim]
    assert len(speeds) == 2 and "paper-size" in speeds[0].claim and "mini models" in speeds[1].claim
    assert (
        speeds[0].verdict == "partly (faster, < 3x)"
        and "encode+decode 1.72x (per round 1.50-2.00)" in speeds[0].here
    )
    assert speeds[1].verdict.startswith("held (minis only")  # the minis' ratio, 4x, does not decide it


def test_distillation_alone_is_dac_distill_against_dac():
    from hybridbench.report.aggregate import item_frame, summarize

    rows = _rows()
    rvq1, full = replication.distillation_effect(rows, summarize(item_frame(rows), []))
    # dac-distill makes no errors at depth 1 where dac makes ~6 of 15: distillation lowered RVQ-1 WER.
    assert rvq1.verdict == "held" and rvq1.paper == "21.54 vs 43.22 %" and "n=40" in rvq1.here
    assert rvq1.here.startswith("0.0 vs ")
    assert full.verdict.startswith("on par")  # both make 0-2 errors at depth 12
    # Twice as many errors for dac-distill at full depth: distillation cost quality there.
    worse = [r for r in rows if not (r.codec == "dac-distill-mini" and r.depth == 12)]
    worse += [_row("dac-distill-mini", i, 12, 5, 0.01) for i in range(N)]
    assert replication.distillation_effect(worse, summarize(item_frame(worse), []))[1].verdict == (
        "distillation worse"
    )
    no_dac = [r for r in rows if r.codec != "dac-mini"]
    assert replication.distillation_effect(no_dac, summarize(item_frame(no_dac), [])) == []


def test_rendered_file_has_every_depth_the_training_facts_and_the_paper_numbers():
    text = replication.render(
        _rows(),
        metrics=["pesq-wb", "stoi"],
        training=[{"codec": "hybridcodec-mini", "variant": "hybrid", "parameters": 4338162, "step": "500",
                   "device": "cpu (1 threads)", "corpus": "1272 files", "recipe": "batch 8"}],
        context={"command": "make leaderboard", "date": "2026-11-25", "git": "abc", "device": "cpu",
                 "run": "runs/x", "asr": "whisper-base", "items": f"{SUITE} {N}"},
        curves_png="../reports/mini-replication/learning-curves.png",
    )  # fmt: skip
    assert "| hybridcodec-mini | hybrid | 4,338,162 | 500 | cpu (1 threads) |" in text
    assert (
        "15.36 vs 43.22 %" in text
        and "![learning curves](../reports/mini-replication/learning-curves.png)" in text
    )
    assert "| codec | @1 | @12 |" in text  # WER by depth: only the depths that were run
    assert "| identity | 1 |" in text  # the ASR floor is in the quality table
    assert "dac-mini" in text.split("HybridCodec mini minus each baseline")[1]
    assert "| distillation lowers the RVQ-1 WER (DAC (Distill) against DAC) | 21.54 vs 43.22 % |" in text
    # What the verdicts cannot show sits right under them, so none is read as a statement about the paper's models.
    limits = text.index("### What these verdicts cannot show")
    assert text.index("## Verdicts") < limits < text.index("## What distillation alone does here")
    assert all(limit in text for limit in replication.LIMITS)


def test_bench_summary_needs_all_four_minis():
    rows = _rows()
    assert replication.bench_summary([r for r in rows if r.codec != "dac-mini"], []) is None
    text = replication.bench_summary(rows, [])
    assert text is not None and "| RVQ-1 WER of HybridCodec is lower than dac's | 15.36 vs 43.22 % |" in text
    assert f"{SUITE}: hybrid minus baseline" in text
    assert (
        "| distillation keeps the full-depth WER (DAC (Distill) on par with DAC) | 4.39 vs 4.55 % |" in text
    )


def test_item_limits_per_suite_and_clear_errors():
    import pytest

    from hybridbench.errors import HybridbenchError
    from hybridbench.run_plan import RunConfig, describe_limit, parse_limit

    assert parse_limit(None) is None and parse_limit("7") == 7
    assert parse_limit("asterisk-en-test=20,*=6") == {"asterisk-en-test": 20, "*": 6}
    config = RunConfig(codecs=[], suites=[], out=Path("x"), limit=parse_limit("asterisk-en-test=20"))
    assert config.limit_for("asterisk-en-test") == 20 and config.limit_for("librivox-mini") is None
    assert describe_limit(parse_limit("asterisk-en-test=10,*=3")) == (
        "first 10 of asterisk-en-test, 3 of the others"
    )
    assert describe_limit(3) == "first 3 items per suite" and describe_limit(None) == "all items"
    for bad, message in (("x", "invalid --limit"), ("a=x", "invalid --limit"), ("0", "at least 1")):
        with pytest.raises(HybridbenchError, match=message):
            parse_limit(bad)


def test_the_training_table_names_every_machine_of_a_warm_started_chain():
    import json

    from minireplication.leaderboard import _trained_where

    assert _trained_where({"device": "cpu (1 thread)", "step": "1750"}) == "cpu (1 thread)"
    first = {"step": 1750, "device": "cpu (1 thread)", "previous": None}
    second = {"step": 4000, "device": "NVIDIA H200", "previous": first}
    meta = {"device": "cpu (2 threads)", "step": "5000", "warm_start": json.dumps(second)}
    assert _trained_where(meta) == (
        "steps 1-1750: cpu (1 thread); 1751-4000: NVIDIA H200; 4001-5000: cpu (2 threads)"
    )
    moved = {**second, "changed": {"semantic_decoder_layers": [0, 2]}}
    assert _trained_where({**meta, "warm_start": json.dumps(moved)}).endswith(
        "4001-5000: cpu (2 threads), semantic decoder from 0 to 2 ConvNeXt blocks"
    )


def test_the_training_table_names_each_build_of_the_corpus_a_chain_trained_on():
    import json

    from minireplication.leaderboard import _corpus_builds

    assert _corpus_builds({"corpus_manifest_sha256": "a" * 64, "step": "1750"}) == f"manifest {'a' * 12}"
    first = {"step": 750, "corpus_manifest_sha256": "a" * 64, "previous": None}
    second = {"step": 1750, "corpus_manifest_sha256": "a" * 64, "previous": first}
    meta = {"corpus_manifest_sha256": "b" * 64, "step": "2250", "warm_start": json.dumps(second)}
    # Warm starts on the same build are one span; a build from another machine starts a new one.
    assert _corpus_builds(meta) == f"manifests {'a' * 12} (steps 1-1750), {'b' * 12} (steps 1751-2250)"
    assert _corpus_builds({**meta, "corpus_manifest_sha256": "a" * 64}) == f"manifest {'a' * 12}"


def test_wer_claims_between_unintelligible_codecs_are_not_judged():
    from hybridbench.report.aggregate import item_frame, summarize

    # hybrid and dac-mini garble 9 and 10 of 15 words at depth 1 (60 and 67 % WER): that comparison is not
    # judged, however clear the paired interval. dac-distill (no errors) is intelligible there, so it still is.
    rows = [r for r in _rows() if not (r.codec in ("hybridcodec-mini", "dac-mini") and r.depth == 1)]
    rows += [_row(c, i, 1, 9 if c == "hybridcodec-mini" else 10, 0.02) for c in ("hybridcodec-mini", "dac-mini")
             for i in range(N)]  # fmt: skip
    verdicts = {v.claim: v for v in replication.verdicts(rows, summarize(item_frame(rows), []))}
    dac = verdicts["RVQ-1 WER of HybridCodec is lower than dac's"]
    assert dac.verdict == "not judged: WER 60 and 67 %, both unintelligible (50 % or more)", dac
    assert "n=40" in dac.here  # the measured difference is still shown
    assert verdicts["RVQ-1 WER of HybridCodec is lower than dac-distill's"].verdict == "contradicted"
    assert verdicts["full-depth WER on par with dac"].verdict.startswith("on par")


def test_paired_cells_with_too_few_items_say_how_many_there_are():
    from hybridbench.report.aggregate import item_frame, summarize

    few = [r for r in _rows() if int(r.item_id[-3:]) < 4]  # 4 items: below compare's minimum of 10 pairs
    text = replication._paired(few, summarize(item_frame(few), []), SUITE, [])
    dac = next(line for line in text.splitlines() if line.startswith("| dac-mini |"))
    assert dac == "| dac-mini | n=4, too few to pair (needs 10) | n=4, too few to pair (needs 10) |"
    # A failed row is not a pair: one item of hybrid failing at depth 1 leaves 3.
    failed = [
        ResultRow(r.key, r.codec, r.suite, r.item_id, r.depth, "failed", "boom", r.payload)
        if (r.codec, r.depth, r.item_id) == ("hybridcodec-mini", 1, f"{SUITE}-000")
        else r
        for r in few
    ]
    text = replication._paired(failed, summarize(item_frame(failed), []), SUITE, [])
    assert "| dac-mini | n=3, too few to pair (needs 10) | n=4," in text


def test_the_target_needs_the_whole_interval_under_the_bar():
    assert replication._target_verdict(0.07, 0.12) == "met"
    assert replication._target_verdict(0.12, 0.21).startswith("not shown: under the bar")
    assert replication._target_verdict(0.195, 0.327) == "not met"
    assert replication._target_verdict(0.12, None).startswith("not shown: too few items")  # n=1: no interval
    assert replication._target_verdict(0.40, float("nan")) == "not met"


def test_update_time_is_summed_from_the_shipped_training_log(tmp_path: Path):
    import csv

    from hybridcodec.logs import COLUMNS, training_time
    from minireplication.leaderboard import _training_time

    log = tmp_path / "hybrid-metrics.csv"
    assert training_time(log, 10) is None and _training_time(log, 10, 500) == "not logged"
    with open(log, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for step in range(1760, 2010, 10):  # 25 windows of 10 updates at 0.72 s, 0.72 s at the logged one
            w.writerow({"step": step, "loss/mel": 2.0, "time/step_s": 0.72})
    first, last, seconds = training_time(log, 10)
    assert (first, last) == (1751, 2000) and abs(seconds - 250 * 0.72) < 1e-9
    assert _training_time(log, 10, 2000) == "≈ 0.1 h (steps 1751-2000; 1-1750 not logged)"
    assert _training_time(log, 10, 2500).endswith("; 1-1750, 2001-2500 not logged)")


def test_a_stalled_update_counts_as_its_neighbours_not_as_the_pause(tmp_path: Path):
    import csv

    from hybridcodec.logs import COLUMNS, training_time

    log = tmp_path / "dualcodec-metrics.csv"
    times = {step: 1.0 + 0.1 * (step % 30 == 0) for step in range(10, 1010, 10)}
    times[500] = 741.2  # the process was paused while this logged update ran
    times[800] = 3.0  # slower, but not stalled: counted as it is
    with open(log, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for step, t in times.items():
            w.writerow({"step": step, "time/step_s": t})
    _, _, seconds = training_time(log, 10)
    usual = sum(t for s, t in times.items() if s != 500) + 1.0  # the median of step 500's neighbours is 1.0
    assert abs(seconds - 10 * usual) < 1e-6


def test_the_last_learning_curve_point_is_quoted_beside_the_target(tmp_path: Path):
    import csv

    from minireplication.curves import COLUMNS, CURVES_CSV
    from minireplication.leaderboard import _last_curve_point

    assert _last_curve_point(tmp_path) is None
    with open(tmp_path / CURVES_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for step, wer in ((500, 0.9), (1000, 0.197)):
            for variant in ("hybrid", "dac"):
                w.writerow({"step": step, "variant": variant, "depth": 12, "wer": wer if variant == "hybrid" else 0.1,
                            "wer_low": 0.15, "wer_high": 0.25, "items": 30, "failed": 0,
                            "suite": "asterisk-en-test", "asr": "whisper-base"})  # fmt: skip
    text = _last_curve_point(tmp_path)
    assert "step 1000 (first 30 items of asterisk-en-test" in text and "WER at 19.7 % [15.0, 25.0]" in text


def test_a_signal_metric_that_failed_on_an_item_leaves_fewer_pairs():
    from hybridbench.report.aggregate import item_frame, summarize

    rows = [r for r in _rows() if int(r.item_id[-3:]) < 10]  # exactly compare's minimum of 10 pairs
    for r in rows:
        if r.codec == "hybridcodec-mini" and r.depth == 12 and r.item_id.endswith("000"):
            r.payload["metrics"] = {"stoi": 0.8}  # pesq-wb failed on this item
            r.payload["metric_failures"] = {"pesq-wb": "too short"}
    dac = next(
        line
        for line in replication._paired(
            rows, summarize(item_frame(rows), ["pesq-wb"]), SUITE, ["pesq-wb"]
        ).splitlines()
        if line.startswith("| dac-mini |")
    )
    assert dac.endswith("| n=9, too few to pair (needs 10) |")


def test_the_recipe_cell_names_an_anneal_only_when_there_is_one():
    from minireplication.leaderboard import _anneal_note

    assert _anneal_note({"lr": 3e-4, "anneal_start": None, "anneal_steps": 0}) == ""
    assert _anneal_note({"lr": 3e-4}) == ""  # checkpoints from before the anneal existed
    assert (
        _anneal_note({"anneal_start": 17000, "anneal_steps": 1500}) == " annealed to 0 over steps 17000-18500"
    )
    rewarmed = {"anneal_start": 23500, "anneal_steps": 2500, "earlier_anneals": [[17000, 1500]]}
    assert _anneal_note(rewarmed) == (
        " annealed to 0 over steps 17000-18500, re-warmed and annealed again over steps 23500-26000"
    )


def test_claims_resting_on_distillation_wait_when_a_codec_distils_the_raw_target():
    from hybridbench.report.aggregate import item_frame, summarize

    rows = _rows()
    summary = summarize(item_frame(rows), [])
    raw = frozenset({"hybridcodec-mini", "dac-distill-mini"})
    found = {v.claim: v for v in replication.verdicts(rows, summary, raw_target=raw)}
    # RVQ-1 claims (distillation's mechanism) are not judged; the numbers stay.
    rvq1_dac = found["RVQ-1 WER of HybridCodec is lower than dac's"]
    assert rvq1_dac.verdict.startswith("not judged: hybridcodec-mini distils the raw Whisper target")
    assert "n=40" in rvq1_dac.here
    assert (
        "hybridcodec-mini and dac-distill-mini distil"
        in found["RVQ-1 WER of HybridCodec is lower than dac-distill's"].verdict
    )
    # Full depth does not rest on the target's learnability: still judged.
    assert found["full-depth WER on par with dac"].verdict.startswith("on par")
    rvq1, full = replication.distillation_effect(rows, summary, raw)
    assert rvq1.verdict.startswith("not judged: dac-distill-mini distils") and full.verdict.startswith(
        "not judged"
    )
    # A processed target (or none) is judged as before.
    assert (
        replication.distillation_effect(rows, summary, frozenset({"hybridcodec-mini"}))[0].verdict == "held"
    )


def test_the_shipped_minis_that_distil_record_their_processed_target():
    assert replication.raw_target_codecs() == frozenset()
    teachers = {cls.name: read_metadata(packaged_path(cls.packaged)).get("teacher") for cls in MINI_CODECS}
    assert not teachers["dac-mini"]
    for name in ("hybridcodec-mini", "dac-distill-mini", "dualcodec-mini"):
        assert json.loads(teachers[name])["target"] == "depositioned", name


def test_the_held_out_cell_reads_the_shipped_held_out_log_at_the_shipped_step(tmp_path: Path):
    from minireplication.leaderboard import _held_out

    assert _held_out(tmp_path, "hybrid", 500) == "not logged"
    header = "step,valid/mel,valid/mel_depth1,valid/distillation,valid/distillation_r2"
    (tmp_path / "hybrid-valid-shipped.csv").write_text(
        f"{header},weights_sha256,dtype\n500,1.9,2.1,0.9,0.1,ab,float16\n"
    )
    assert _held_out(tmp_path, "hybrid", 500) == (
        "mel 1.900 (RVQ-1 alone 2.100), teacher R2 0.100 (shipped fp16 weights, scored again)"
    )
    # The training's own row wins over a row scored again; a variant that distils nothing has no R2.
    (tmp_path / "hybrid-valid.csv").write_text(f"{header}\n250,2.5,2.7,1.0,0.05\n500,1.91234,2.1,0.9,0.123\n")
    assert _held_out(tmp_path, "hybrid", 500) == "mel 1.912 (RVQ-1 alone 2.100), teacher R2 0.123"
    (tmp_path / "dac-valid.csv").write_text(f"{header}\n500,1.8,2.0,,\n")
    assert _held_out(tmp_path, "dac", 500) == "mel 1.800 (RVQ-1 alone 2.000)"
    assert _held_out(tmp_path, "dac", 750) == "not logged"
