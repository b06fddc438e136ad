"""The command line: the documented demo command works end to end, and user mistakes are one-line errors."""

from __future__ import annotations

import pytest

from hybridbench.cli import main
from hybridbench.suites import SUITES, Item, Suite


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_codecs_table_lists_facts_and_how_to_get_missing_weights(capsys):
    code, out, _ = _run(capsys, "codecs", "--details")
    assert code == 0
    dac_row = next(line for line in out.splitlines() if line.startswith("| dac-16khz |"))
    cells = [c.strip() for c in dac_row.strip("|").split("|")]
    assert cells[1:6] == ["16000", "50", "12", "0.5", "6"]
    assert "hybridbench weights fetch dac-16khz" in dac_row or cells[6].startswith("here")
    assert "| identity | 16000 | 16000 | 1 | 256 | 256 | here |" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--codecs", "dac-16kz", "--suites", "synthetic-en", "--out", "x"],
            "did you mean 'dac-16khz'",
        ),
        (
            ["run", "--codecs", "identity", "--suites", "synthetic-eng", "--out", "x"],
            "did you mean 'synthetic-en'",
        ),
        (
            [
                "run",
                "--codecs",
                "identity",
                "--suites",
                "synthetic-en",
                "--out",
                "x",
                "--asr",
                "whisper-tiny",
            ],
            "unknown ASR profile 'whisper-tiny'",
        ),
        (["run", "--codecs", "identity", "--suites", "synthetic-fr", "--out", "x"], "English-only"),
        (["run", "--codecs", "identity", "--suites", "synthetic-en"], "missing --out"),
        (["run", "--preset", "mini-replicaton"], "did you mean 'mini-replication'"),
        (
            ["run", "--codecs", "identity", "--suites", "synthetic-en", "--out", "x", "--depths", "1,four"],
            "invalid --depths",
        ),
        (
            [
                "run",
                "--codecs",
                "dac-16khz",
                "--suites",
                "synthetic-en",
                "--out",
                "x",
                "--weights",
                "/nonexistent.pth",
            ],
            "weights file not found",
        ),
        (["speed", "--codecs", "dac-16khz", "--weights", "/nonexistent.pth"], "weights file not found"),
        (
            ["speed", "--codecs", "dac-16khz,identity,opus", "--weights", "/nonexistent.pth"],
            "does not say which codec it is for",
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_codec_weights_name_the_fix(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # DAC's own cache lives under ~/.cache
    code, _, err = _run(
        capsys, "run", "--codecs", "dac-16khz", "--suites", "synthetic-en", "--out", str(tmp_path)
    )
    assert code == 2
    assert "weights not found" in err and "hybridbench weights fetch dac-16khz" in err


@SUITES.register()
class _BrokenFileSuite(Suite):
    """Two good synthetic items and one truncated file."""

    name = "test-broken-file"
    language = "en"
    root = None

    def items(self):
        from hybridbench.suites.synthetic import SyntheticEnglish

        good = SyntheticEnglish().items()[:2]
        bad = self.root / "truncated.wav"
        bad.write_bytes(good[0].audio_path.read_bytes()[:30])
        return [*good, Item(id="truncated", audio_path=bad, text="nothing", language="en")]


def test_demo_command_writes_tables_and_a_rerun_computes_nothing(capsys, tmp_path):
    _BrokenFileSuite.root = tmp_path
    argv = [
        "run",
        "--codecs",
        "identity",
        "--suites",
        "synthetic-en,test-broken-file",
        "--depths",
        "1,4,12",
        "--asr",
        "whisper-tiny.en",
        "--limit",
        "3",
        "--out",
        str(tmp_path / "run"),
        "--timing-repeats",
        "1",
    ]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "rows: 6 computed (1 failed), 0 reused" in out
    assert "1 x load: AudioReadError: audio file is truncated" in out
    md = (tmp_path / "run" / "summary-synthetic-en.md").read_text()
    assert "| codec | WER@1 % | WER@4 % | WER@12 % |" in md
    assert md.count("| identity |") == 2  # by-codec and by-depth tables
    assert "| identity | 0.0 [0.0, 0.0] | — | — | 1 | 256.00 |" in md  # every rate carries its interval
    assert "4.644 [4.644, 4.644]" in md
    for name in (
        "summary-synthetic-en.csv",
        "depths-synthetic-en.csv",
        "items-synthetic-en.csv",
        "config.json",
    ):
        assert (tmp_path / "run" / name).is_file()
    broken = (tmp_path / "run" / "summary-test-broken-file.md").read_text()
    identity_row = next(line for line in broken.splitlines() if line.startswith("| identity |"))
    assert identity_row.rstrip(" |").endswith("| 3 | 1")  # 3 items, 1 failed: counted, not dropped

    code, out, _ = _run(capsys, *argv)
    assert code == 0 and "rows: 0 computed (0 failed), 6 reused" in out


def test_limits_per_suite_take_that_many_items_of_each(capsys, tmp_path):
    _BrokenFileSuite.root = tmp_path
    argv = ["run", "--codecs", "identity", "--suites", "synthetic-en,test-broken-file", "--depths", "1"]
    argv += ["--asr", "whisper-tiny.en", "--out", str(tmp_path / "run"), "--timing-repeats", "1"]
    code, out, _ = _run(capsys, *argv, "--limit", "synthetic-en=1,*=2")
    assert code == 0 and "rows: 3 computed (0 failed)" in out  # 1 synthetic item, 2 of the other suite
    code, _, err = _run(capsys, *argv, "--limit", "synthetic-fr=1")
    assert code == 2 and "--limit names suites that are not in this run: synthetic-fr" in err


def test_metrics_lists_each_metrics_declared_semantics(capsys):
    code, out, _ = _run(capsys, "metrics")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| pesq-wb |"))
    assert [c.strip() for c in row.strip("|").split("|")][1:5] == ["higher", "16000 Hz", "yes", "yes"]
    row = next(line for line in out.splitlines() if line.startswith("| dnsmos-ovrl |"))
    assert [c.strip() for c in row.strip("|").split("|")][3:5] == ["no", "no"]  # no reference; opt-in
