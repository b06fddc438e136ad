"""What a run keeps beside its rows: full-depth codes of token codecs, the loaded codecs' facts, and the audio
kept for listening (`--listen`), read back through the Python API."""

from __future__ import annotations

import shutil

import numpy as np
import soundfile as sf
import torch

from hybridbench.audio import load_audio, resample
from hybridbench.codecs import CODECS
from hybridbench.listening import ListeningWriter, clip_path, listen_depths, safe_name
from hybridbench.results import open_run
from hybridbench.runner import RunConfig, Runner
from hybridbench.suites import SUITES


def test_listen_depths_are_first_middle_last():
    assert listen_depths((1, 2, 3, 12)) == (1, 3, 12)
    assert listen_depths([5]) == (5,)
    assert listen_depths((1, 2)) == (1, 2)
    assert listen_depths(()) == ()


def test_safe_names_are_unique_and_file_safe():
    assert safe_name("abc-1.wav") == "abc-1.wav"
    a, b = safe_name("spk/utt 1"), safe_name("spk_utt_1")
    assert "/" not in a and " " not in a and a != b


def test_stored_codes_are_the_codecs_own_codes(small_run):
    run = open_run(small_run)
    codes = run.codes("dac-mini", "synthetic-en")
    items = SUITES.get("synthetic-en")().items()[:4]
    assert sorted(codes) == sorted(item.id for item in items)
    codec = CODECS.get("dac-mini").load()
    data, sr = load_audio(items[0].audio_path)
    expected = codec.encode(resample(torch.from_numpy(data)[None, None], sr, codec.sample_rate))[0].numpy()
    np.testing.assert_array_equal(codes[items[0].id], expected)
    assert codes[items[0].id].shape[0] == 12
    # The identity's "codes" are PCM samples and G.722's bitstream symbols: not stored.
    assert run.codes("identity", "synthetic-en") == {} and run.codes("g722", "synthetic-en") == {}


def test_loaded_codec_facts_are_recorded(small_run):
    info = open_run(small_run).codec_info("dac-mini")
    assert info["parameters"] == CODECS.get("dac-mini").load().parameter_count() > 0
    assert info["frame_rate"] == 25 and info["precision"] == "float32"


def test_listening_keeps_originals_and_three_depths_for_two_items(small_run):
    run = open_run(small_run)
    clips = run.listening()
    items = SUITES.get("synthetic-en")().items()[:4]
    kept = {(c.item_id, c.codec, c.depth) for c in clips}
    expected = set()
    for item in items[:2]:
        expected |= {(item.id, None, None)}
        expected |= {(item.id, "dac-mini", d) for d in (1, 3, 12)}
        expected |= {(item.id, "g722", d) for d in (1, 2, 3)}
        expected |= {(item.id, "identity", 1)}
    assert kept == expected
    original = next(c for c in clips if c.codec is None and c.item_id == items[0].id)
    data, sr = sf.read(original.path)
    source, source_sr = load_audio(items[0].audio_path)
    assert sr == source_sr and len(data) == len(source)
    assert np.max(np.abs(data - source)) < 1 / 32767 + 1e-6  # 16-bit FLAC of the original
    decoded = next(c for c in clips if c.codec == "dac-mini" and c.depth == 12)
    assert decoded.sample_rate == 16000 and sf.info(decoded.path).samplerate == 16000


def test_adding_listen_to_a_finished_run_keeps_the_audio(small_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(small_run, out, ignore=shutil.ignore_patterns("listen", "listen.jsonl", "run.lock"))
    config = RunConfig(
        codecs=["g722"], suites=["synthetic-en"], out=out, depths=[1, 2, 3], asr="whisper-tiny.en", limit=4,
        metrics=["pesq-wb", "stoi", "speaker-sim-resemblyzer"], timing_repeats=1, include_reference=False,
    )  # fmt: skip
    plan = Runner(config).plan()
    assert plan.rows_to_compute == 0
    config.listen = 1
    plan = Runner(config).plan()
    assert [(u.item.id, sorted(u.todo)) for u in plan.work] == [(plan.items["synthetic-en"][0].id, [1, 2, 3])]


def test_clip_paths_stay_inside_the_listen_folder(tmp_path):
    writer = ListeningWriter(tmp_path)
    path = writer.write("suite/x", "../../etc/passwd", "codec a", 2, np.zeros(160), 16000)
    assert path.resolve().is_relative_to((tmp_path / "listen").resolve())
    assert clip_path("suite/x", "../../etc/passwd", "codec a", 2).parts[0] == "listen"
