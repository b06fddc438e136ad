"""A transcript line that is not UTF-8 costs that row, not the suite; a UTF-8 byte-order mark is not part of an id.

Each test writes the published layout with raw bytes: one line in Latin-1 (what a Windows editor or an old tool
saves), a BOM in front of the first line. The audio is a short tone: loaders only list files, they do not decode.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from hybridbench.runner import _write_problems
from hybridbench.suites.commonvoice import CommonVoiceFrench
from hybridbench.suites.librispeech import LibriSpeechTestClean
from hybridbench.suites.librivox import LibriVoxMini
from hybridbench.suites.seedtts import SeedTTSEnglish

BOM = b"\xef\xbb\xbf"
TONE = (0.1 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)


def _audio(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), TONE, 16000)


def test_librispeech_keeps_the_other_lines_and_strips_the_bom(tmp_path):
    chapter = tmp_path / "LibriSpeech" / "test-clean" / "121" / "127105"
    for n in range(3):
        _audio(chapter / f"121-127105-000{n}.flac")
    (chapter / "121-127105.trans.txt").write_bytes(
        BOM
        + b"121-127105-0000 ONE TWO\n"
        + "121-127105-0001 CAF\u00c9 AU LAIT\n".encode("latin-1")
        + b"121-127105-0002 THREE FOUR\r\n"
    )
    suite = LibriSpeechTestClean(data_root=tmp_path)
    items = suite.items()
    assert [i.id for i in items] == ["121-127105-0000", "121-127105-0002"]
    assert items[0].audio_path == chapter / "121-127105-0000.flac"
    assert items[1].text == "THREE FOUR"
    problems = {str(p.where): p.reason for p in suite.problems()}
    assert "not UTF-8 (byte 0xc9" in problems["121/127105/121-127105.trans.txt:2"]
    # Its audio is listed too: the reader sees why that file has no item.
    assert problems["121/127105/121-127105-0001.flac"] == "audio file has no transcript line"


def test_librispeech_problems_are_written_where_the_run_lists_them(tmp_path):
    chapter = tmp_path / "LibriSpeech" / "test-clean" / "121" / "127105"
    _audio(chapter / "121-127105-0000.flac")
    (chapter / "121-127105.trans.txt").write_bytes(b"121-127105-0000 ONE\n\xff\xfe junk\n")
    suite = LibriSpeechTestClean(data_root=tmp_path)
    assert len(suite.items()) == 1
    _write_problems(tmp_path / "problems.jsonl", suite.problems())
    lines = [json.loads(line) for line in (tmp_path / "problems.jsonl").read_text().splitlines()]
    assert lines == [
        {
            "where": "121/127105/121-127105.trans.txt:2",
            "reason": "line is not UTF-8 (byte 0xff at byte 1 of the line); re-save the file as UTF-8",
        }
    ]


def test_seedtts_keeps_the_other_lines_and_strips_the_bom(tmp_path):
    en = tmp_path / "seedtts_testset" / "en"
    for stem in ("a", "b", "c"):
        _audio(en / "prompt-wavs" / f"{stem}.wav")
    (en / "meta.lst").write_bytes(
        BOM
        + b"a-t|Hello there.|prompt-wavs/a.wav|Target.\n"
        + "b-t|Na\u00efve caf\u00e9.|prompt-wavs/b.wav|Target.\n".encode("latin-1")
        + b"c-t|Good bye.|prompt-wavs/c.wav|Target.\n"
    )
    suite = SeedTTSEnglish(data_root=tmp_path)
    assert [(i.id, i.text) for i in suite.items()] == [("a", "Hello there."), ("c", "Good bye.")]
    [problem] = suite.problems()
    assert problem.where == "meta.lst:2" and "not UTF-8" in problem.reason


def test_commonvoice_keeps_the_other_rows_and_strips_the_bom(tmp_path):
    fr = tmp_path / "cv-corpus-99.0-2099-01-01" / "fr"
    for n in (1, 2, 3):
        _audio(fr / "clips" / f"c{n}.mp3")
    (fr / "test.tsv").write_bytes(
        BOM
        + b"client_id\tpath\tsentence\tlocale\n"
        + b"spk_a\tc1.mp3\tLe chat dort.\tfr\n"
        + "spk_b\tc2.mp3\tL'\u00e9t\u00e9 est l\u00e0.\tfr\n".encode("latin-1")
        + "spk_c\tc3.mp3\tDeux caf\u00e9s.\tfr\n".encode()
    )
    suite = CommonVoiceFrench(data_root=tmp_path)
    items = suite.items()
    assert [(i.id, i.text) for i in items] == [("c1", "Le chat dort."), ("c3", "Deux caf\u00e9s.")]
    # With the BOM kept, the first column would be "\ufeffclient_id" and every speaker would be lost.
    assert [i.speaker for i in items] == ["spk_a", "spk_c"]
    [problem] = suite.problems()
    assert problem.where == "test.tsv:3" and "not UTF-8" in problem.reason


def test_librivox_keeps_the_other_lines_and_strips_the_bom(tmp_path):
    folder = tmp_path / "librivox"
    for utt in ("u1", "u2", "u3"):
        _audio(folder / f"{utt}.wav")
    (folder / "transcription").write_bytes(
        BOM
        + b"<s> first line </s> (u1)\n"
        + "<s> caf\u00e9 </s> (u2)\n".encode("latin-1")
        + b"<s> third line </s> (u3)\n"
    )
    (folder / "fileids").write_bytes(BOM + b"u1\nu2\nu3\n")
    suite = LibriVoxMini(data_root=tmp_path)
    assert [(i.id, i.text) for i in suite.items()] == [("u1", "first line"), ("u3", "third line")]
    problems = [(p.where, p.reason) for p in suite.problems()]
    assert problems[0][0] == "transcription:2" and "not UTF-8" in problems[0][1]
    assert problems[1] == ("u2", "listed in fileids but has no transcription line")
    assert len(problems) == 2
