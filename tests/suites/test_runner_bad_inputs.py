"""The bad-input list end to end: one suite holding every kind of file users throw at the harness, run through the
real runner (identity codec, Whisper tiny.en, PESQ, STOI). Each item must end as an ok row or a counted failure row
with its reason; none may stop the run, and a second run must find every row stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hybridbench.suites import SUITES, Item, Suite

NAME = "test-bad-inputs"


def _items(folder: Path, tools) -> list[Item]:
    folder.mkdir(parents=True)
    speech = tools.say("Please leave your message after the tone.")
    numbers = tools.say("one two three")
    files: dict[str, tuple[str, str]] = {}  # id -> (file name, reference text)

    def add(item_id, name, text, write):
        write(folder / name)
        files[item_id] = (name, text)

    ref = "Please leave your message after the tone."
    add(
        "stereo-44k",
        "stereo.wav",
        ref,
        lambda p: sf.write(p, np.stack([tools.resample_np(speech, 44100)] * 2, 1), 44100),
    )
    add("flac-24bit", "deep.flac", ref, lambda p: sf.write(p, speech, 16000, subtype="PCM_24"))
    add("wav-8bit", "u8.wav", ref, lambda p: sf.write(p, speech, 16000, subtype="PCM_U8"))
    add("wav-float", "float.wav", ref, lambda p: sf.write(p, speech, 16000, subtype="FLOAT"))
    add("mp3-48k", "speech.mp3", ref, lambda p: tools.write_audio(p, speech, 48000))
    add("g722", "prompt.g722", ref, lambda p: tools.write_g722(p, speech))
    add("short", "short.wav", "Please", lambda p: sf.write(p, speech[: int(0.3 * 16000)], 16000))
    long = np.tile(speech, int(np.ceil(61 * 16000 / len(speech))))[: 61 * 16000]
    add("long-61s", "long.flac", " ".join([ref] * 20), lambda p: sf.write(p, long, 16000))
    add("silence", "silence.wav", ref, lambda p: sf.write(p, np.zeros(16000, dtype=np.float32), 16000))
    add("clipped", "clipped.wav", ref, lambda p: sf.write(p, np.clip(speech * 20, -1, 1), 16000))
    add("punctuation-only", "punct.wav", "?!", lambda p: sf.write(p, speech, 16000))
    add("numbers-only", "numbers.wav", "1 2 3", lambda p: sf.write(p, numbers, 16000))
    add("truncated", "cut.flac", ref, lambda p: (sf.write(p, speech, 16000), tools.truncate(p)))
    add("zero-byte", "empty.wav", ref, lambda p: p.write_bytes(b""))
    add("missing", "missing.wav", ref, lambda p: None)
    return [Item(i, folder / name, text, "en", "fixture", None) for i, (name, text) in files.items()]


@pytest.mark.slow
def test_every_bad_input_is_an_ok_row_or_a_counted_failure(tmp_path, audio_tools, monkeypatch):
    from hybridbench.runner import RunConfig, Runner
    from hybridbench.store import ResultStore

    items = _items(tmp_path / "audio", audio_tools)

    class BadInputs(Suite):
        name = NAME
        language = "en"

        def items(self) -> list[Item]:
            return list(items)

    SUITES.names()  # load the entry points first, so the fixture suite is simply one more name
    monkeypatch.setitem(SUITES._items, NAME, BadInputs)
    config = RunConfig(
        codecs=["identity"],
        suites=[NAME],
        out=tmp_path / "run",
        asr="whisper-tiny.en",
        timing_repeats=1,
        include_reference=False,
    )
    summary = Runner(config).run()
    assert summary.computed == len(items) and summary.failed == 3

    with ResultStore(tmp_path / "run" / "results.sqlite") as store:
        rows = {row.item_id: row for row in store.rows()}
    assert set(rows) == {i.id for i in items}
    failed = {k: r.error for k, r in rows.items() if r.status == "failed"}
    assert set(failed) == {"truncated", "zero-byte", "missing"}
    assert all(e.startswith("load: AudioReadError:") for e in failed.values())
    assert "empty (0 bytes)" in failed["zero-byte"] and "not found" in failed["missing"]
    for item_id, row in rows.items():
        if item_id in failed:
            continue
        assert row.status == "ok", (item_id, row.error)
        assert isinstance(row.payload["transcript"], str)
    assert rows["long-61s"].payload["audio_s"] == pytest.approx(61, abs=0.01)
    assert "please leave your message" in rows["wav-float"].payload["transcript"].lower()
    # Silence loads and runs; the metric that cannot score it says so instead of storing a number.
    assert "pesq-wb" in rows["silence"].payload["metric_failures"]
    assert "pesq-wb" not in rows["silence"].payload["metrics"]

    again = Runner(config).run()  # nothing to redo: every row, failures included, is stored
    assert again.computed == 0 and again.reused == len(items)
