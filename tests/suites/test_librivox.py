"""librivox-mini: the sphinx test-data layout on a fixture folder, and the Debian package when installed."""

from __future__ import annotations

import pytest

from hybridbench.audio import load_tensor
from hybridbench.errors import HybridbenchError
from hybridbench.suites import debian, librivox
from hybridbench.suites.librivox import LibriVoxMini, parse_transcription

CLIPS = {
    "clip-0870": "he was not an ill disposed young man",
    "clip-0880": "he might even have been made amiable himself",
}


def build_folder(folder, tools):
    for utt_id, text in CLIPS.items():
        tools.write_audio(folder / f"{utt_id}.wav", tools.say(text))
    (folder / "fileids").write_text("\n".join(CLIPS) + "\n")
    (folder / "transcription").write_text("".join(f"<s> {t} </s> ({u})\n" for u, t in CLIPS.items()))
    return folder


@pytest.fixture
def no_package(monkeypatch, tmp_path):
    monkeypatch.setattr(librivox, "DEBIAN_DIR", tmp_path / "no-package")


def test_parse_transcription():
    texts, problems = parse_transcription(
        "<s> a b </s> (u1)\nno id here\n<s> c </s> (u1)\nplain words (u2)\n", "t"
    )
    assert texts == {"u1": "a b", "u2": "plain words"}
    assert [str(p) for p in problems] == [
        "t:2: malformed line 'no id here'",
        "t:3: utterance u1 is listed again; the first line is used",
    ]


def test_fixture_folder(tmp_path, audio_tools, no_package):
    build_folder(tmp_path / "librivox", audio_tools)
    suite = LibriVoxMini(data_root=tmp_path)
    items = suite.items()
    assert [(i.id, i.text) for i in items] == list(CLIPS.items())
    assert {i.speaker for i in items} == {librivox.SPEAKER} and {i.language for i in items} == {"en"}
    for item in items:
        assert item.duration == pytest.approx(load_tensor(item.audio_path, 16000).shape[-1] / 16000)
    assert suite.problems() == []


def test_fileids_and_transcription_disagree(tmp_path, audio_tools, no_package):
    folder = build_folder(tmp_path, audio_tools)
    (folder / "fileids").write_text("clip-0880\nclip-9999\n")
    suite = LibriVoxMini(data_root=folder)
    assert [i.id for i in suite.items()] == ["clip-0880"]
    assert [str(p) for p in suite.problems()] == [
        "clip-9999: listed in fileids but has no transcription line",
        "clip-0870: has a transcription line but is not in fileids; dropped",
    ]


def test_missing_package_without_root_prints_the_command(tmp_path, no_package, monkeypatch):
    monkeypatch.setattr(debian, "has_apt", lambda: True)
    monkeypatch.setattr(debian, "_is_root", lambda: False)
    assert LibriVoxMini.status(tmp_path).hint == "hybridbench data prepare librivox-mini"
    with pytest.raises(HybridbenchError) as excinfo:
        LibriVoxMini.prepare(tmp_path)
    assert excinfo.value.hint == "run: sudo apt-get update && sudo apt-get install -y pocketsphinx-testdata"


@pytest.mark.skipif(
    not (librivox.DEBIAN_DIR / "transcription").is_file(),
    reason="Debian package pocketsphinx-testdata not installed (sudo apt-get install -y pocketsphinx-testdata)",
)
def test_debian_package():
    items = LibriVoxMini().items()
    assert len(items) == 5
    assert items[1].text == "he was not an ill disposed young man"
    assert sum(i.duration for i in items) == pytest.approx(
        24.73, abs=0.01
    )  # from the WAV headers (OFFLINE_ASSETS.md says 23.7 s)
    assert float(load_tensor(items[0].audio_path, 16000).abs().max()) > 0.05
