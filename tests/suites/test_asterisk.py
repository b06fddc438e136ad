"""Asterisk suites: transcript cleaning, stable splits, the unpacked-tarball layout (fixture), the Debian packages
(skipped when absent), and each way `prepare` can go."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from hybridbench.audio import load_tensor
from hybridbench.errors import HybridbenchError
from hybridbench.suites import asterisk, debian
from hybridbench.suites.asterisk import (
    AsteriskEnglish,
    AsteriskEnglishTest,
    AsteriskEnglishTrain,
    AsteriskFrench,
    AsteriskFrenchTest,
    AsteriskFrenchTrain,
    split_of,
)
from hybridbench.suites.asterisk_text import clean_text, parse_transcripts

TRANSCRIPT_EN = """; Core Asterisk Sounds in English

activated: Activated.
beep: [this is a simple beep tone]
confbridge-join: <beep ascending>
digits/2: two
digits/7: seven
letters/at: at [@]
silence/1: (1 second of silence)
spy-iax2: IAX (note: does not say "2")
vm-intro: Please leave your message after the tone.  When done hang up or press the pound key. (simple tone sound plays)
conf-adminmenu-162: Please press 1 to mute or unmute yourself.
not-shipped: This prompt has no audio file.
"""
SPOKEN = {  # prompt -> the text Pico says for the fixture audio
    "activated": "Activated.",
    "beep": "",
    "confbridge-join": "",
    "digits/2": "two",
    "digits/7": "seven",
    "letters/at": "at",
    "silence/1": "",
    "spy-iax2": "IAX",
    "vm-intro": "Please leave your message after the tone. When done hang up or press the pound key.",
    "conf-adminmenu-162": "Please press 1 to mute or unmute yourself.",
    "no-transcript": "This file has no line in the transcript.",
}

DEBIAN_EN = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
DEBIAN_FR = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz")
needs_debian_en = pytest.mark.skipif(
    not (DEBIAN_EN.is_file() and (asterisk.DEBIAN_SOUNDS / "en_US_f_Allison").is_dir()),
    reason="Debian packages asterisk-core-sounds-en-g722 + asterisk-core-sounds-en not installed "
    "(sudo apt-get install -y asterisk-core-sounds-en-g722 asterisk-core-sounds-en)",
)
needs_debian_fr = pytest.mark.skipif(
    not (DEBIAN_FR.is_file() and (asterisk.DEBIAN_SOUNDS / "fr_CA_f_June").is_dir()),
    reason="Debian packages asterisk-core-sounds-fr-g722 + asterisk-core-sounds-fr not installed "
    "(sudo apt-get install -y asterisk-core-sounds-fr-g722 asterisk-core-sounds-fr)",
)


@pytest.fixture
def no_system_data(monkeypatch, tmp_path):
    """Hide the installed Debian packages, so the fixture layout is the only data."""
    monkeypatch.setattr(asterisk, "DEBIAN_SOUNDS", tmp_path / "no-debian-sounds")
    monkeypatch.setattr(asterisk, "DEBIAN_DOCS", tmp_path / "no-debian-docs")


def build_unpacked_tarball(folder: Path, tools) -> Path:
    """What asterisk-core-sounds-en-g722-VERSION.tar.gz unpacks to: .g722 prompts + core-sounds-en.txt."""
    for name, text in SPOKEN.items():
        tools.write_g722(folder / f"{name}.g722", tools.say(text or "beep"))
    (folder / "core-sounds-en.txt").write_text(TRANSCRIPT_EN, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Activated.", "Activated."),
        ("[ascending tones]", ""),
        ("<beep decending>", ""),
        ("(10 seconds of silence)", ""),
        ("at [@]", "at"),
        ("space [ ]", "space"),
        ('IAX (note: does not say "2")', "IAX"),
        ("Pour (emphase)", "Pour"),
        ("au menu poli (ne m'appelez plus, jamais), 4.", "au menu poli ne m'appelez plus, jamais, 4."),
        ("Thank you.  Goodbye.", "Thank you. Goodbye."),
        ("", ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_parse_transcripts_reports_what_it_drops():
    texts, problems = parse_transcripts(
        "; comment\n\nok: Fine.\nbeep: [beep]\nempty:\nno colon here\nok: Again.\n", "t.txt"
    )
    assert texts == {"ok": "Fine."}
    assert [str(p) for p in problems] == [
        "beep: no spoken text in the transcript ('[beep]'); dropped",
        "empty: no spoken text in the transcript (''); dropped",
        "t.txt:6: malformed line 'no colon here' (expected 'name: text')",
        "t.txt:7: prompt ok is listed again; the first line is used",
    ]


def test_splits_are_fixed_by_the_prompt_name():
    # Pinned: these must never change, or a model trained on `train` would be tested on its training data.
    assert [
        split_of(n) for n in ("activated", "digits/2", "digits/7", "conf-adminmenu-162", "vm-goodbye")
    ] == [
        "train",
        "test",
        "train",
        "test",
        "train",
    ]
    names = [f"prompt-{n}" for n in range(2000)]
    share = sum(split_of(n) == "test" for n in names) / len(names)
    assert 0.17 < share < 0.23  # TEST_FRACTION = 0.2


def test_unpacked_tarball_layout(tmp_path, audio_tools, no_system_data):
    build_unpacked_tarball(tmp_path / "asterisk" / "en", audio_tools)
    suite = AsteriskEnglish(data_root=tmp_path)
    items = suite.items()
    expected = [
        "activated",
        "conf-adminmenu-162",
        "digits/2",
        "digits/7",
        "letters/at",
        "spy-iax2",
        "vm-intro",
    ]
    assert [i.id for i in items] == [n.replace("/", "__") for n in expected]
    assert {i.id: i.text for i in items}["letters__at"] == "at"
    assert {i.language for i in items} == {"en"} and {i.speaker for i in items} == {"en_US_f_Allison"}
    for item in items:
        wav = load_tensor(item.audio_path, 16000)
        assert item.duration == pytest.approx(wav.shape[-1] / 16000)  # size-derived G.722 duration is exact
    problems = {p.where: p.reason for p in suite.problems()}
    assert set(problems) == {"beep", "confbridge-join", "silence/1", "no-transcript", "not-shipped"}
    assert problems["no-transcript"] == "audio file has no transcript line"
    assert "not shipped" in problems["not-shipped"]


def test_train_and_test_partition_the_suite(tmp_path, audio_tools, no_system_data):
    build_unpacked_tarball(tmp_path / "en", audio_tools)
    full = {i.id for i in AsteriskEnglish(data_root=tmp_path).items()}
    train = {i.id for i in AsteriskEnglishTrain(data_root=tmp_path).items()}
    test = {i.id for i in AsteriskEnglishTest(data_root=tmp_path).items()}
    assert train | test == full and not train & test
    assert test == {"digits__2", "conf-adminmenu-162"}
    # A split suite lists only its own prompts' problems.
    all_problems = {p.where for p in AsteriskEnglish(data_root=tmp_path).problems()}
    test_problems = {p.where for p in AsteriskEnglishTest(data_root=tmp_path).problems()}
    assert test_problems == {w for w in all_problems if split_of(w) == "test"} == {"confbridge-join"}


def test_missing_data_points_at_prepare(tmp_path, no_system_data):
    assert AsteriskEnglishTest.status(tmp_path).hint == "hybridbench data prepare asterisk-en"
    assert not AsteriskFrench.status(tmp_path).available
    with pytest.raises(HybridbenchError, match="Asterisk fr prompts not found"):
        AsteriskFrench(data_root=tmp_path).items()


def test_prepare_without_root_prints_the_exact_apt_command(tmp_path, no_system_data, monkeypatch):
    monkeypatch.setattr(debian, "has_apt", lambda: True)
    monkeypatch.setattr(debian, "_is_root", lambda: False)
    with pytest.raises(HybridbenchError) as excinfo:
        AsteriskEnglish.prepare()
    assert excinfo.value.hint.startswith(
        "run: sudo apt-get update && sudo apt-get install -y asterisk-core-sounds-en-g722 asterisk-core-sounds-en"
    )


def test_prepare_as_root_runs_apt_get(tmp_path, no_system_data, monkeypatch):
    calls = []
    monkeypatch.setattr(debian, "has_apt", lambda: True)
    monkeypatch.setattr(debian, "can_install", lambda: True)
    monkeypatch.setattr(debian, "apt_install", calls.append)
    with pytest.raises(HybridbenchError, match="packages installed but the prompts are not where expected"):
        AsteriskFrench.prepare()
    assert calls == [["asterisk-core-sounds-fr-g722", "asterisk-core-sounds-fr"]]


def test_prepare_downloads_the_upstream_tarball(tmp_path, audio_tools, no_system_data, monkeypatch):
    src = build_unpacked_tarball(tmp_path / "src", audio_tools)
    archive = tmp_path / "asterisk-core-sounds-en-g722-1.6.1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # upstream tarballs hold the files at the top level
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=path.relative_to(src).as_posix(), recursive=False)
    monkeypatch.setattr(
        asterisk, "TARBALL_URL", f"file://{tmp_path}/asterisk-core-sounds-{{lang}}-g722-{{version}}.tar.gz"
    )
    monkeypatch.setitem(asterisk.TARBALL_SHA256, "en", hashlib.sha256(archive.read_bytes()).hexdigest())
    message = AsteriskEnglish.prepare(prefer_download=True)
    assert "unpacked into" in message
    assert len(AsteriskEnglish().items()) == 7  # found in the cache folder with no data root
    assert "already present" in AsteriskEnglish.prepare(prefer_download=True)
    # With a data root (and no copy anywhere else), the tarball goes there, not to the cache.
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path / "fresh-cache"))
    assert AsteriskEnglish.prepare(tmp_path / "datasets") == (
        f"asterisk-en: unpacked into {tmp_path / 'datasets' / 'asterisk' / 'en'}"
    )
    assert len(AsteriskEnglishTest(data_root=tmp_path / "datasets").items()) == 2


@needs_debian_en
def test_debian_english_package():
    suite = AsteriskEnglish()
    items = suite.items()
    assert len(items) == 551  # 568 prompts minus 17 tones, beeps and silences
    assert len(suite.problems()) == 18  # those 17 + one transcript line with no prompt file
    assert items[0].id == "activated" and items[0].text == "Activated."
    assert {i.speaker for i in items} == {"en_US_f_Allison"} and {i.language for i in items} == {"en"}
    assert 0.39 < sum(i.duration for i in items) / 3600 < 0.42
    assert len(AsteriskEnglishTrain().items()) + len(AsteriskEnglishTest().items()) == 551
    wav = load_tensor(items[0].audio_path, 24000)
    assert wav.shape[-1] == pytest.approx(items[0].duration * 24000, abs=2)
    assert float(wav.abs().max()) > 0.05  # real speech, not silence


@needs_debian_fr
def test_debian_french_package():
    suite = AsteriskFrench()
    items = {i.id: i for i in suite.items()}
    assert len(items) == 509
    reasons = [p.reason.split(" (")[0].split(";")[0] for p in suite.problems()]
    assert reasons.count("audio file has no transcript line") == 43
    assert reasons.count("no spoken text in the transcript") == 9
    assert reasons.count("transcript lists a prompt that is not shipped") == 7
    assert items["agent-loginok"].text == "Vous êtes maintenant en ligne."
    assert "ne m'appelez plus, jamais" in items["priv-callee-options"].text
    assert items["for"].text == "Pour"
    assert len(AsteriskFrenchTrain().items()) + len(AsteriskFrenchTest().items()) == 509
    # A prompt name has the same split in both languages.
    en_test = {i.id for i in AsteriskEnglishTest().items()} if DEBIAN_EN.is_file() else set()
    fr_test = {i.id for i in AsteriskFrenchTest().items()}
    shared = set(items) & {i.id for i in AsteriskEnglish().items()} if DEBIAN_EN.is_file() else set()
    assert {n for n in shared if n in fr_test} == {n for n in shared if n in en_test}
