"""LibriSpeech loaders on a fixture folder in the OpenSLR layout, and the download/unpack path on a local archive."""

from __future__ import annotations

import hashlib
import tarfile
import urllib.error
import urllib.request

import pytest
import soundfile as sf

from hybridbench.audio import AudioReadError, load_tensor
from hybridbench.errors import HybridbenchError
from hybridbench.suites import librispeech
from hybridbench.suites.librispeech import LibriSpeechTestClean, LibriSpeechTestOther

# (speaker, chapter, utterance, text): speaker 121 must sort before 1089 (numeric, not string order).
UTTERANCES = [
    ("1089", "134686", "0000", "HE HOPED THERE WOULD BE STEW FOR DINNER"),
    ("1089", "134686", "0001", "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM"),
    ("121", "127105", "0002", "IT WAS THIS OBSERVATION THAT DREW FROM DOUGLAS"),
    ("121", "121726", "0010", "ONE TWO THREE"),
]


def build_split(root, tools, split="test-clean", utterances=UTTERANCES):
    """LibriSpeech/<split>/SPK/CHAP/ with FLACs and SPK-CHAP.trans.txt, as OpenSLR unpacks it."""
    by_chapter: dict[tuple[str, str], list[str]] = {}
    for spk, chap, utt, text in utterances:
        utt_id = f"{spk}-{chap}-{utt}"
        tools.write_audio(
            root / "LibriSpeech" / split / spk / chap / f"{utt_id}.flac", tools.say(text.lower())
        )
        by_chapter.setdefault((spk, chap), []).append(f"{utt_id} {text}")
    for (spk, chap), lines in by_chapter.items():
        (root / "LibriSpeech" / split / spk / chap / f"{spk}-{chap}.trans.txt").write_text(
            "\n".join(lines) + "\n"
        )
    return root / "LibriSpeech" / split


def test_items_counts_texts_order_speakers_durations(tmp_path, audio_tools):
    split_dir = build_split(tmp_path, audio_tools)
    items = LibriSpeechTestClean(data_root=tmp_path).items()
    assert [i.id for i in items] == [
        "121-121726-0010",
        "121-127105-0002",
        "1089-134686-0000",
        "1089-134686-0001",
    ]
    assert items[2].text == "HE HOPED THERE WOULD BE STEW FOR DINNER"
    assert items[0].text == "ONE TWO THREE"
    assert {i.language for i in items} == {"en"}
    assert [i.speaker for i in items] == ["121", "121", "1089", "1089"]
    for item in items:
        info = sf.info(str(item.audio_path))
        assert item.audio_path.parent.parent.parent == split_dir
        assert item.duration == pytest.approx(info.frames / info.samplerate)
        assert item.duration > 0.5
    assert LibriSpeechTestClean(data_root=tmp_path).problems() == []


@pytest.mark.parametrize("where", ["parent", "LibriSpeech", "split"])
def test_data_root_may_point_at_any_level(tmp_path, audio_tools, where):
    split_dir = build_split(tmp_path, audio_tools, utterances=UTTERANCES[:1])
    root = {"parent": tmp_path, "LibriSpeech": tmp_path / "LibriSpeech", "split": split_dir}[where]
    assert LibriSpeechTestClean.status(root).available
    assert [i.id for i in LibriSpeechTestClean(data_root=root).items()] == ["1089-134686-0000"]


def test_environment_variable_and_missing_data_hint(tmp_path, audio_tools, monkeypatch):
    status = LibriSpeechTestClean.status()
    assert not status.available
    assert status.hint.startswith("hybridbench data prepare librispeech-test-clean")
    with pytest.raises(HybridbenchError, match="no test-clean folder"):
        LibriSpeechTestClean().items()
    build_split(tmp_path / "ds", audio_tools, utterances=UTTERANCES[:1])
    monkeypatch.setenv("HYBRIDBENCH_LIBRISPEECH", str(tmp_path / "ds"))
    assert LibriSpeechTestClean.status().available
    assert len(LibriSpeechTestClean().items()) == 1
    # test-other is a separate split folder: present test-clean does not make it available.
    assert not LibriSpeechTestOther.status().available


def test_test_other_reads_its_own_split(tmp_path, audio_tools):
    build_split(tmp_path, audio_tools, split="test-clean", utterances=UTTERANCES[:1])
    build_split(tmp_path, audio_tools, split="test-other", utterances=UTTERANCES[2:3])
    assert [i.id for i in LibriSpeechTestOther(data_root=tmp_path).items()] == ["121-127105-0002"]


def test_bad_rows_are_reported_and_missing_audio_stays_an_item(tmp_path, audio_tools):
    split_dir = build_split(tmp_path, audio_tools)
    chapter = split_dir / "1089" / "134686"
    (chapter / "1089-134686-0000.flac").unlink()  # transcript line, no audio
    audio_tools.write_audio(chapter / "1089-134686-0099.flac", audio_tools.say("orphan"))  # audio, no line
    trans = chapter / "1089-134686.trans.txt"
    trans.write_text(trans.read_text() + "1089-134686-0001 DUPLICATE LINE\nGARBAGE\n1089-134686-0005 ?!\n")
    suite = LibriSpeechTestClean(data_root=tmp_path)
    items = {i.id: i for i in suite.items()}
    # The missing FLAC is an item with no duration; loading it fails with a clear reason (the runner counts it).
    assert items["1089-134686-0000"].duration is None
    with pytest.raises(AudioReadError, match="not found"):
        load_tensor(items["1089-134686-0000"].audio_path, 16000)
    # A text of only punctuation is kept as published: scoring decides what an empty normalized reference means.
    assert items["1089-134686-0005"].text == "?!"
    reasons = sorted(str(p) for p in suite.problems())
    assert any("duplicate utterance id 1089-134686-0001" in r for r in reasons)
    assert any("malformed transcript line 'GARBAGE'" in r for r in reasons)
    assert any("1089-134686-0099.flac: audio file has no transcript line" in r for r in reasons)
    assert len(reasons) == 3


def test_a_copy_converted_to_wav_is_read(tmp_path, audio_tools):
    split_dir = build_split(tmp_path, audio_tools, utterances=UTTERANCES[:2])
    flac = split_dir / "1089" / "134686" / "1089-134686-0001.flac"
    data, sr = sf.read(str(flac))
    sf.write(str(flac.with_suffix(".wav")), data, sr)
    flac.unlink()
    suite = LibriSpeechTestClean(data_root=tmp_path)
    items = suite.items()
    assert [i.audio_path.suffix for i in items] == [".flac", ".wav"]
    assert items[1].duration == pytest.approx(len(data) / sr)
    assert suite.problems() == []


def _archive(tmp_path, tools):
    """A test-clean.tar.gz with OpenSLR's internal layout (LibriSpeech/test-clean/..., shared top-level files)."""
    src = tmp_path / "src"
    build_split(src, tools, utterances=UTTERANCES[:2])
    (src / "LibriSpeech" / "SPEAKERS.TXT").write_text("; fixture\n")
    archive = tmp_path / "test-clean.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "LibriSpeech", arcname="LibriSpeech")
    return archive


def test_prepare_downloads_checks_and_unpacks(tmp_path, audio_tools, monkeypatch):
    archive = _archive(tmp_path, audio_tools)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(librispeech, "OPENSLR_URL", archive.as_uri().replace("test-clean", "{split}"))
    monkeypatch.setitem(librispeech.SHA256, "test-clean", digest)
    root = tmp_path / "data"
    message = LibriSpeechTestClean.prepare(root)
    assert "unpacked into" in message
    assert (root / "LibriSpeech" / "SPEAKERS.TXT").is_file()
    assert [i.id for i in LibriSpeechTestClean(data_root=root).items()] == [
        "1089-134686-0000",
        "1089-134686-0001",
    ]
    assert "already present" in LibriSpeechTestClean.prepare(root)


def test_prepare_refuses_to_merge_into_an_incomplete_split_folder(tmp_path):
    (tmp_path / "data" / "LibriSpeech" / "test-clean" / "1089").mkdir(parents=True)
    with pytest.raises(HybridbenchError, match="exists but holds no transcripts"):
        LibriSpeechTestClean.prepare(tmp_path / "data")


def test_prepare_rejects_a_wrong_checksum(tmp_path, audio_tools, monkeypatch):
    archive = _archive(tmp_path, audio_tools)
    monkeypatch.setattr(librispeech, "OPENSLR_URL", archive.as_uri().replace("test-clean", "{split}"))
    monkeypatch.setitem(librispeech.SHA256, "test-clean", "0" * 64)
    with pytest.raises(HybridbenchError, match="checksum mismatch"):
        LibriSpeechTestClean.prepare(tmp_path / "data")
    assert not (tmp_path / "data" / "LibriSpeech").exists()
    assert not list((tmp_path / "cache" / "downloads").glob("*"))  # no half-trusted file left behind


def test_prepare_offline_fails_at_once_with_one_line(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(HybridbenchError) as excinfo:
        LibriSpeechTestClean.prepare(tmp_path / "data")
    assert "cannot download https://www.openslr.org/resources/12/test-clean.tar.gz" in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_pinned_checksums_are_torchaudios():
    """The pins must equal the ones torchaudio ships, which is where they were read from."""
    ta = pytest.importorskip("torchaudio.datasets.librispeech")
    for split, digest in librispeech.SHA256.items():
        assert ta._CHECKSUMS[f"http://www.openslr.org/resources/12/{split}.tar.gz"] == digest
