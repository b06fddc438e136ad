"""Common Voice French on a fixture release folder: TSV rows, real MP3 clips, splits, subsets and bad inputs."""

from __future__ import annotations

import pytest

from hybridbench.audio import AudioReadError, load_tensor
from hybridbench.errors import HybridbenchError
from hybridbench.suites.commonvoice import CommonVoiceFrench

HEADER = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment"
GOOD = [
    ("spk_a", "common_voice_fr_100.mp3", "Le chat dort sur le canapé."),
    (
        "spk_b",
        "common_voice_fr_101.mp3",
        'Il a dit "bonjour" en entrant.',
    ),  # bare quotes: TSV quoting must be off
    ("spk_a", "common_voice_fr_102.mp3", "Quarante-deux."),
    ("spk_c", "common_voice_fr_103.mp3", "Nous partirons demain matin."),
]


def _row(client, clip, sentence):
    return f"{client}\t{clip}\tsid\t{sentence}\t\t2\t0\t\t\t\t\tfr\t"


def build_release(root, tools, rows=GOOD, split="test", sample_rate=48000):
    """cv-corpus-NN/fr/{split}.tsv + fr/clips/*.mp3 (48 kHz MP3, like the releases)."""
    fr = root / "cv-corpus-99.0-2099-01-01" / "fr"
    for _client, clip, sentence in rows:
        tools.write_audio(fr / "clips" / clip, tools.say(sentence, "fr-FR"), sample_rate)
    (fr / f"{split}.tsv").write_text("\n".join([HEADER, *(_row(*r) for r in rows)]) + "\n", encoding="utf-8")
    return fr


def test_items_counts_texts_speakers_durations(tmp_path, audio_tools):
    build_release(tmp_path, audio_tools)
    suite = CommonVoiceFrench(data_root=tmp_path)
    items = suite.items()
    assert [i.id for i in items] == [f"common_voice_fr_{n}" for n in (100, 101, 102, 103)]
    assert [i.text for i in items] == [r[2] for r in GOOD]
    assert [i.speaker for i in items] == ["spk_a", "spk_b", "spk_a", "spk_c"]
    assert {i.language for i in items} == {"fr"}
    for item in items:
        wav = load_tensor(item.audio_path, 16000)  # MP3 decodes and resamples 48 kHz -> 16 kHz
        assert item.duration == pytest.approx(wav.shape[-1] / 16000, abs=0.1)
    assert suite.problems() == []


def test_clip_durations_tsv_is_used_when_present(tmp_path, audio_tools):
    fr = build_release(tmp_path, audio_tools, rows=GOOD[:1])
    (fr / "clip_durations.tsv").write_text("clip\tduration[ms]\ncommon_voice_fr_100.mp3\t4321\n")
    assert CommonVoiceFrench(data_root=tmp_path).items()[0].duration == 4.321


def test_data_root_may_be_the_locale_folder_or_an_env_var(tmp_path, audio_tools, monkeypatch):
    fr = build_release(tmp_path, audio_tools, rows=GOOD[:1])
    assert len(CommonVoiceFrench(data_root=fr).items()) == 1
    assert len(CommonVoiceFrench(data_root=fr.parent).items()) == 1
    assert not CommonVoiceFrench.status().available
    assert "commonvoice.mozilla.org" in CommonVoiceFrench.status().hint
    monkeypatch.setenv("HYBRIDBENCH_COMMONVOICE", str(tmp_path))
    assert CommonVoiceFrench.status().available
    assert "already present" in CommonVoiceFrench.prepare()
    monkeypatch.delenv("HYBRIDBENCH_COMMONVOICE")
    with pytest.raises(HybridbenchError, match="cannot be downloaded automatically"):
        CommonVoiceFrench.prepare(tmp_path / "elsewhere")


def test_split_selection(tmp_path, audio_tools):
    build_release(tmp_path, audio_tools, rows=GOOD[:2], split="test")
    build_release(tmp_path, audio_tools, rows=GOOD[2:], split="dev")
    assert [i.id for i in CommonVoiceFrench(data_root=tmp_path, split="dev").items()] == [
        "common_voice_fr_102",
        "common_voice_fr_103",
    ]
    with pytest.raises(HybridbenchError, match="splits found: dev, test"):
        CommonVoiceFrench(data_root=tmp_path, split="train").items()


def test_subset_is_deterministic_nested_and_keeps_tsv_order(tmp_path, audio_tools, monkeypatch):
    rows = [(f"spk{n}", f"common_voice_fr_{n}.mp3", "Bonjour.") for n in range(12)]
    build_release(tmp_path, audio_tools, rows=rows)
    full = [i.id for i in CommonVoiceFrench(data_root=tmp_path).items()]
    three = [i.id for i in CommonVoiceFrench(data_root=tmp_path, subset=3).items()]
    seven = [i.id for i in CommonVoiceFrench(data_root=tmp_path, subset=7).items()]
    assert len(three) == 3 and len(seven) == 7
    assert three == [i.id for i in CommonVoiceFrench(data_root=tmp_path, subset=3).items()]
    assert set(three) <= set(seven)
    assert three == [i for i in full if i in three]  # TSV order
    assert three != full[:3] or seven != full[:7]  # a hash subset, not simply the first rows
    monkeypatch.setenv("HYBRIDBENCH_COMMONVOICE_SUBSET", "3")
    assert [i.id for i in CommonVoiceFrench(data_root=tmp_path).items()] == three
    monkeypatch.setenv("HYBRIDBENCH_COMMONVOICE_SUBSET", "three")
    with pytest.raises(HybridbenchError, match="not a whole number"):
        CommonVoiceFrench(data_root=tmp_path)
    with pytest.raises(HybridbenchError, match="must be positive"):
        CommonVoiceFrench(data_root=tmp_path, subset=0)


def test_bad_inputs_are_items_that_fail_to_load_or_listed_problems(tmp_path, audio_tools):
    """Missing, empty and truncated MP3s stay items and fail on load with a reason; bad rows are problems."""
    rows = [
        *GOOD,
        ("spk_d", "common_voice_fr_200.mp3", "Ce fichier manque."),
        ("spk_d", "common_voice_fr_201.mp3", "Ce fichier est vide."),
        ("spk_d", "common_voice_fr_202.mp3", "Ce fichier est tronqué."),
        ("spk_d", "common_voice_fr_203.mp3", "?!"),
        ("spk_d", "common_voice_fr_204.mp3", "1789"),
    ]
    fr = build_release(tmp_path, audio_tools, rows=rows)
    (fr / "clips" / "common_voice_fr_200.mp3").unlink()
    (fr / "clips" / "common_voice_fr_201.mp3").write_bytes(b"")
    audio_tools.truncate(fr / "clips" / "common_voice_fr_202.mp3")
    with (fr / "test.tsv").open("a", encoding="utf-8") as f:
        f.write(_row("spk_e", "common_voice_fr_300.mp3", "") + "\n")  # no sentence
        f.write(_row("spk_a", "common_voice_fr_100.mp3", "Encore.") + "\n")  # same clip again

    suite = CommonVoiceFrench(data_root=tmp_path)
    items = {i.id: i for i in suite.items()}
    assert len(items) == 9
    failures = {}
    for item in items.values():
        try:
            load_tensor(item.audio_path, 16000)
        except AudioReadError as exc:
            failures[item.id] = str(exc)
    assert set(failures) == {"common_voice_fr_200", "common_voice_fr_201", "common_voice_fr_202"}
    assert "not found" in failures["common_voice_fr_200"]
    assert "empty (0 bytes)" in failures["common_voice_fr_201"]
    assert "truncated" in failures["common_voice_fr_202"]
    assert all("\n" not in reason for reason in failures.values())
    # Texts made of punctuation or digits only are kept as published; their audio loads.
    assert items["common_voice_fr_203"].text == "?!"
    assert items["common_voice_fr_204"].text == "1789"
    problems = [str(p) for p in suite.problems()]
    assert problems == [
        "test.tsv:11: row has no clip path or no sentence",
        "test.tsv:12: clip common_voice_fr_100.mp3 is listed twice",
    ]


def test_a_file_of_another_locale_or_shape_is_refused(tmp_path, audio_tools):
    fr = build_release(tmp_path, audio_tools, rows=GOOD[:1])
    (fr / "test.tsv").write_text((fr / "test.tsv").read_text().replace("\tfr\t", "\ten\t"))
    with pytest.raises(HybridbenchError, match="holds locale en, not fr"):
        CommonVoiceFrench(data_root=tmp_path).items()
    (fr / "test.tsv").write_text("client_id\tfile\ttext\nspk\ta.mp3\tBonjour.\n")
    with pytest.raises(HybridbenchError, match="has no path or sentence column"):
        CommonVoiceFrench(data_root=tmp_path).items()
