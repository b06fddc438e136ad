"""Data: folders and manifests, crops as a pure function of (seed, step, rank), features cut in step."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridcodec.data import CropSampler, FeatureStore, list_audio
from hybridcodec.errors import HybridcodecError
from hybridcodec.teachers import TeacherSpec, make_teacher


def test_folders_and_manifests(speech_dir: Path, tmp_path: Path):
    files = list_audio([str(speech_dir)])
    assert len(files) == 6
    manifest = tmp_path / "train.tsv"
    manifest.write_text("path\tduration\n" + "".join(f"{f}\t1.0\n" for f in files[:2]))
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(f'{{"audio_filepath": "{files[3]}"}}\n')
    assert list_audio([str(manifest), str(jsonl)]) == sorted([files[0], files[1], files[3]])
    with pytest.raises(HybridcodecError, match="not a folder"):
        list_audio([str(tmp_path / "missing")])


def test_crops_depend_only_on_seed_step_and_rank(speech_dir: Path):
    files = list_audio([str(speech_dir)])
    make = lambda seed: CropSampler(  # noqa: E731
        files=files, sample_rate=16000, hop=640, segment_frames=10, batch_size=3, seed=seed
    )
    a, b = make(0), make(0)
    wav, feats = a.batch(7, rank=0)
    assert wav.shape == (3, 1, 6400) and feats is None
    assert torch.equal(wav, b.batch(7, rank=0)[0])  # a fresh sampler (a resumed run) draws the same crops
    assert not torch.equal(wav, a.batch(7, rank=1)[0])
    assert not torch.equal(wav, a.batch(8, rank=0)[0])
    assert not torch.equal(wav, make(1).batch(7, rank=0)[0])


def test_teacher_features_are_cached_and_cut_in_step_with_audio(speech_dir: Path, feature_cache: Path):
    files = list_audio([str(speech_dir)])[:2]
    teacher = make_teacher(TeacherSpec(name="whisper-base-encoder"))
    store = FeatureStore(
        root=feature_cache, cache_id=teacher.cache_id, sample_rate=16000, frame_rate=25.0, hop=640
    )
    store.prepare(files, teacher)
    cached = store.path(files[0])
    stamp = cached.stat().st_mtime_ns
    store.prepare(files, teacher)  # already cached: nothing is recomputed
    assert cached.stat().st_mtime_ns == stamp
    sampler = CropSampler(
        files=files, sample_rate=16000, hop=640, segment_frames=5, batch_size=4, seed=3, features=store
    )
    wav, feats = sampler.batch(0)
    assert feats.shape == (4, 512, 5)
    for i in range(4):
        # Find where the crop came from, then check the features are that file's frames at that offset.
        for index in range(2):
            audio = sampler.audio(index)
            frames = math.ceil(audio.shape[-1] / 640)
            starts = [s for s in range(frames) if torch.equal(audio[s * 640 : s * 640 + 3200], wav[i, 0])]
            if starts:
                full = np.asarray(store.load(files[index]))
                assert full.shape == (frames, 512)
                torch.testing.assert_close(
                    feats[i], torch.from_numpy(full[starts[0] : starts[0] + 5].copy()).T
                )
                break
        else:
            raise AssertionError(f"crop {i} not found in the corpus")
