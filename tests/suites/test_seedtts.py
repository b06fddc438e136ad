"""seedtts-en on a fixture folder in the seed-tts-eval layout (en/meta.lst + en/prompt-wavs/)."""

from __future__ import annotations

import pytest
import soundfile as sf

from hybridbench.audio import AudioReadError, load_audio
from hybridbench.errors import HybridbenchError
from hybridbench.suites.seedtts import SeedTTSEnglish

PROMPTS = {
    "common_voice_en_10119832": "We asked over twenty different people, and they all said it was his.",
    "common_voice_en_103675": "Excuse me. Can you tell me how much the shirt is?",
    "common_voice_en_19945": "Twenty-one, twenty-two.",
}


def build_testset(root, tools, sample_rate=16000):
    en = root / "seedtts_testset" / "en"
    lines = []
    for n, (stem, text) in enumerate(PROMPTS.items()):
        tools.write_audio(en / "prompt-wavs" / f"{stem}.wav", tools.say(text), sample_rate)
        lines.append(
            f"{stem}-target{n}|{text}|prompt-wavs/{stem}.wav|A sentence for the TTS model number {n}."
        )
    # The same prompt wav reused for a second target sentence: one item, not two.
    first = next(iter(PROMPTS))
    lines.append(f"{first}-target9|{PROMPTS[first]}|prompt-wavs/{first}.wav|Another target sentence.")
    (en / "meta.lst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return en


def test_each_prompt_wav_is_one_item_with_its_prompt_text(tmp_path, audio_tools):
    build_testset(tmp_path, audio_tools, sample_rate=24000)
    suite = SeedTTSEnglish(data_root=tmp_path)
    items = suite.items()
    assert [i.id for i in items] == list(PROMPTS)  # meta.lst order
    assert [i.text for i in items] == list(PROMPTS.values())
    assert {i.language for i in items} == {"en"}
    assert {i.speaker for i in items} == {None}  # seed-tts-eval publishes no speaker ids
    for item in items:
        info = sf.info(str(item.audio_path))
        assert info.samplerate == 24000
        assert item.duration == pytest.approx(info.duration)
    assert suite.problems() == []


@pytest.mark.parametrize("level", ["parent", "testset", "en"])
def test_data_root_levels(tmp_path, audio_tools, level):
    en = build_testset(tmp_path, audio_tools)
    root = {"parent": tmp_path, "testset": en.parent, "en": en}[level]
    assert SeedTTSEnglish.status(root).available
    assert len(SeedTTSEnglish(data_root=root).items()) == 3


def test_missing_data_explains_where_to_get_it(tmp_path, monkeypatch):
    status = SeedTTSEnglish.status(tmp_path)
    assert not status.available and "seed-tts-eval" in status.hint and "HYBRIDBENCH_SEEDTTS" in status.hint
    with pytest.raises(HybridbenchError, match="cannot be downloaded automatically"):
        SeedTTSEnglish.prepare(tmp_path)
    with pytest.raises(HybridbenchError, match="no en/meta.lst"):
        SeedTTSEnglish(data_root=tmp_path).items()


def test_bad_lines_and_bad_audio(tmp_path, audio_tools):
    en = build_testset(tmp_path, audio_tools)
    with (en / "meta.lst").open("a", encoding="utf-8") as f:
        f.write("only|three|fields\n")
        f.write("x|   |prompt-wavs/x.wav|y\n")
        f.write(f"z|A different text.|prompt-wavs/{next(iter(PROMPTS))}.wav|t\n")
        f.write("gone|This prompt has no file.|prompt-wavs/gone.wav|t\n")
        f.write("empty|This prompt is empty.|prompt-wavs/empty.wav|t\n")
    (en / "prompt-wavs" / "empty.wav").write_bytes(b"")
    suite = SeedTTSEnglish(data_root=tmp_path)
    items = {i.id: i for i in suite.items()}
    assert list(items)[-2:] == ["gone", "empty"]
    assert items["gone"].duration is None and items["empty"].duration is None
    with pytest.raises(AudioReadError, match="not found"):
        load_audio(items["gone"].audio_path)
    with pytest.raises(AudioReadError, match="empty"):
        load_audio(items["empty"].audio_path)
    assert [str(p) for p in suite.problems()] == [
        "meta.lst:5: expected 4 '|'-separated fields, found 3",
        "meta.lst:6: empty prompt_text or prompt_wav",
        f"meta.lst:7: prompt-wavs/{next(iter(PROMPTS))}.wav already has a different prompt_text",
    ]
