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
