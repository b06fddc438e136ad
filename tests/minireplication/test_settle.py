"""The distillation experiment (minireplication settle): what each arm trains with, and the page read from results."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcodec.cli import main
from minireplication import settle

SHIPPED = Path("minireplication/checkpoints/mini")


def _exp(tmp_path: Path) -> settle.Experiment:
    return settle.Experiment(
        out=tmp_path / "runs", data=tmp_path / "m.jsonl", valid=tmp_path / "v.jsonl", init_from=SHIPPED
    )


def test_every_arm_starts_from_the_shipped_dac_mini_with_one_schedule_and_differs_only_in_its_target(
    tmp_path,
):
    exp = _exp(tmp_path)
    assert exp.start == 18500 and exp.target == 21500
    commands = {arm: settle.train_command(exp, arm, threads=1) for arm in settle.ARMS}
    common = ["--anneal-start", "20500", "--anneal-steps", "1000", "--rewarm", "--init-from"]
    for cmd in commands.values():
        text = " ".join(cmd)
        assert " ".join(common) in text and text.count("dac.safetensors") == 1 and "--steps 21500" in text
    assert "--variant" not in commands["no-distillation"]
    raw = commands["raw-target"]
    assert (
        raw[raw.index("--teacher-target") + 1] == "raw" and raw[raw.index("--distillation-form") + 1] == "mse"
    )
    for form in ("mse", "d-axis", "cosine"):
        cmd = commands[f"new-target-{form}"]
        assert cmd[cmd.index("--teacher-target") + 1] == "depositioned"
        assert cmd[cmd.index("--distillation-form") + 1] == form
        assert cmd[cmd.index("--semantic-decoder-layers") + 1] == "2"


def _results(one_high: float, full_low: float) -> dict:
    def arm(r2_test, r2_valid):
        wer = {"wer": 0.3, "wer_low": 0.25, "wer_high": 0.35, "items": 109}
        return {
            "wer1": wer, "wer12": wer, "mel_loss": {"depth1": 1.5, "full": 1.2},
            "probe": {"test": {"teacher_r2": r2_test, "logmel_r2": 0.4}, "valid": {"teacher_r2": r2_valid, "logmel_r2": 0.4}},
        }  # fmt: skip

    pair = {"difference": -0.05, "low": -0.1, "high": one_high, "p": 0.01, "pairs": 109}
    return {
        "experiment": {"start_step": 18500, "target_step": 21500, "anneal_steps": 1000},
        "teacher_check": {"fit": "corpus", "held_out": "asterisk-en-test", "rows": [
            {"target": "raw", "position_share": 0.3, "top1_pc": 0.1, "top8_pc": 0.4, "top7_dims": 0.28, "logmel_r2": 0.14}]},
        "arms": {"no-distillation": arm(0.15, 0.15), "raw-target": arm(0.14, 0.14),
                 "new-target-mse": arm(0.2, 0.19), "new-target-cosine": arm(0.22, 0.18)},
        "chosen_form_arm": "new-target-mse",
        "pairs": [
            {"a": "new-target-mse", "b": "no-distillation", "depth": 1, **pair},
            {"a": "new-target-mse", "b": "no-distillation", "depth": 12, **pair, "low": full_low, "high": full_low + 0.05},
        ],
        "files": {"fit": 1211, "valid": 61, "test": 109},
        "probe_pairs": [{"a": "new-target-mse", "b": "no-distillation", "difference": 0.05, "low": -0.01,
                         "high": 0.1, "p": 0.2, "pairs": 109}],
    }  # fmt: skip


@pytest.mark.parametrize(("full_low", "wins"), [(-0.02, True), (0.01, False)])
def test_the_verdict_follows_the_issue_rule(tmp_path, full_low, wins):
    results = _results(one_high=-0.01, full_low=full_low)
    lines = settle._verdict(results)
    assert any(line.startswith("Verdict: the new target wins") for line in lines) == wins
    page = settle.write_page(
        results, page=tmp_path / "page.md", reports=tmp_path / "reports", runs=tmp_path / "none"
    )
    text = page.read_text()
    assert "| raw | 30.0 % |" in text and "new target, mse — chosen form" in text
    assert "0.200" in text and "What this cannot show" in text


def test_probe_and_teacher_check_refuse_bad_arguments_in_one_line(capsys):
    assert (
        main(["probe", "--codecs", "identity", "--weights", "dac-16khz=x", "--fit", "a", "--eval", "b"]) == 2
    )
    assert "--weights for dac-16khz, which --codecs does not name" in capsys.readouterr().err
    assert main(["teacher-check", "--fit", "a", "--eval", "b", "--targets", "raw,fancy"]) == 2
    assert "unknown targets ['fancy']" in capsys.readouterr().err


def _reading(r2_test: float, r2_valid: float, sse: list[float]) -> dict:
    """An arm's reading as results.json keeps it, with per-utterance probe errors (sst: 10 per utterance)."""
    wer = {"wer": 0.3, "wer_low": 0.25, "wer_high": 0.35, "items": 109}
    probe = {"teacher_r2": r2_test, "logmel_r2": 0.8, "teacher_sse": sse, "teacher_sst": [10.0] * len(sse)}
    return {
        "wer1": wer, "wer12": wer, "mel_loss": {"depth1": 1.5, "full": 1.2},
        "probe": {"test": probe, "valid": {"teacher_r2": r2_valid, "logmel_r2": 0.8}},
    }  # fmt: skip


def _published() -> dict:
    results = _results(one_high=-0.01, full_low=-0.02)
    sse = [8.0, 9.0, 7.5, 8.5, 9.5, 8.0, 7.0, 9.0, 8.5, 8.0, 7.5, 9.0]
    results["arms"] = {
        settle.START: _reading(0.14, 0.15, sse),
        "no-distillation": _reading(0.15, 0.15, sse),
        "raw-target": _reading(0.15, 0.16, [s - 0.1 for s in sse]),
        "new-target-mse": _reading(0.16, 0.176, [s - 0.2 for s in sse]),
        "new-target-d-axis": _reading(0.155, 0.164, [s - 0.15 for s in sse]),
    }
    results["pairs"].append({"a": "no-distillation", "b": settle.START, "depth": 1, "difference": -0.05,
                             "low": -0.1, "high": 0.0, "p": 0.08, "pairs": 109})  # fmt: skip
    results["target_stats_sha256"] = "a" * 64
    results["teacher_check"]["fit"] = "the replication corpus, manifest b3f01fade4e6"
    results["generated"] = {"date": "2026-12-02", "git": "608ed24ee2", "cpu": "AMD EPYC",
                            "command": "minireplication settle --out runs/settle --arms no-distillation,raw-target"}  # fmt: skip
    return results


def _add(tmp_path, monkeypatch, published: dict, cosine_valid_r2: float) -> dict:
    """add_arms with the reading of the shipped start model and of the cosine arm given, nothing measured."""
    import copy

    exp = _exp(tmp_path)
    exp.out.mkdir(parents=True)
    exp.data.write_text("{}\n")
    sse = [s - 0.3 for s in published["arms"]["no-distillation"]["probe"]["test"]["teacher_sse"]]
    read = {
        settle.START: _reading(0.141, 0.151, sse),
        "new-target-cosine": _reading(0.17, cosine_valid_r2, sse),
    }
    monkeypatch.setattr(settle, "read_inputs", lambda exp: settle.Inputs({}, "b" * 64, {}, {}))
    monkeypatch.setattr(settle, "read_arms", lambda exp, arms, inputs: ([], {a: read[a] for a in arms}))
    return settle.add_arms(exp, ("new-target-cosine",), copy.deepcopy(published), command="settle --add")


def test_an_added_arm_leaves_every_published_reading_and_pair_as_published(tmp_path, monkeypatch):
    published = _published()
    results = _add(tmp_path, monkeypatch, published, cosine_valid_r2=0.17)  # below mse's 0.176
    for arm, reading in published["arms"].items():
        assert results["arms"][arm] == reading  # the start model's re-reading goes beside it, not over it
    assert list(results["arms"]) == [settle.START, *settle.ARMS]
    assert results["pairs"] == published["pairs"] and results["probe_pairs"] == published["probe_pairs"]
    assert results["chosen_form_arm"] == "new-target-mse"
    (added,) = results["added"]
    assert added["start_reread"]["probe.test.teacher_r2"] == {"published": 0.14, "now": 0.141}
    assert added["chosen_form_arm_before"] == "new-target-mse" and added["wer_pairs_unavailable"] == []
    page = settle.write_page(
        results, page=tmp_path / "page.md", reports=tmp_path / "reports", runs=tmp_path / "none", replot=False
    ).read_text()
    assert "new target, cosine (added, below)" in page and "new target, mse — chosen form" in page
    assert (
        "`minireplication settle --out runs/settle --arms no-distillation,raw-target` (generated 2026-12-02"
        in page
    )
    assert "then `settle --add` (added" in page and "not the published b3f01fade4e6" in page
    assert "Loss forms compared: mse, d-axis, cosine (every form implemented" in page


def test_an_added_form_with_the_best_validation_r2_is_chosen_and_its_missing_wer_pairs_are_named(
    tmp_path, monkeypatch
):
    published = _published()
    results = _add(tmp_path, monkeypatch, published, cosine_valid_r2=0.18)
    assert results["chosen_form_arm"] == "new-target-cosine"
    assert results["pairs"] == published["pairs"]  # the control's per-item rows are gone: no WER pair made up
    unavailable = {(m["a"], m["b"], m["depth"]) for m in results["added"][0]["wer_pairs_unavailable"]}
    assert unavailable == {
        ("new-target-cosine", b, d) for b in ("no-distillation", "raw-target") for d in (1, 12)
    }
    # Probe pairs come from the per-utterance errors the published data keep: sse 0.3 lower on sst 10.
    new = {(p["a"], p["b"]): p for p in results["probe_pairs"]}
    assert new[("new-target-cosine", "no-distillation")]["difference"] == pytest.approx(0.03)
    assert new[("new-target-cosine", "raw-target")]["difference"] == pytest.approx(0.02)
    lines = settle._verdict(results)
    assert not any(line.startswith("Verdict") for line in lines)
    assert any("has no paired WER difference with (i)" in line for line in lines)


def test_an_arm_is_added_only_beside_the_control_and_only_once(tmp_path, monkeypatch):
    start = tmp_path / "dac.safetensors"
    with pytest.raises(settle.ReplicationError, match="already in the published results"):
        settle.check_addable(_published(), ("new-target-mse",), start)
    without_control = _published()
    del without_control["arms"]["no-distillation"]
    with pytest.raises(settle.ReplicationError, match="no control arm"):
        settle.check_addable(without_control, ("new-target-cosine",), start)


def test_an_arm_is_added_only_from_the_start_model_of_the_published_arms(tmp_path):
    from hybridbench.hashing import sha256_file

    start = tmp_path / "dac.safetensors"
    start.write_bytes(b"the published start model")
    published = _published()
    published["arms"][settle.START]["model_sha256"] = sha256_file(start)
    settle.check_addable(published, ("new-target-cosine",), start)
    start.write_bytes(b"a retrained dac mini")  # the shipped minis replaced after the page was made
    with pytest.raises(settle.ReplicationError, match="not the start model of the published arms") as err:
        settle.check_addable(published, ("new-target-cosine",), start)
    assert "--init-from" in err.value.hint


def test_a_page_written_before_results_held_their_generation_gives_it_back():
    line = ("Regenerate: `hybridcodec settle --out runs/settle --arms no-distillation,raw-target` (`make settle` "
            "trains and reads every arm). Generated 2026-12-02 at git 608ed24ee2 on AMD EPYC (CPU). Every arm")  # fmt: skip
    assert settle.published_generation(line) == {
        "date": "2026-12-02", "git": "608ed24ee2", "cpu": "AMD EPYC",
        "command": "hybridcodec settle --out runs/settle --arms no-distillation,raw-target",
    }  # fmt: skip
