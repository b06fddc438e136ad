"""The teacher check's and the probe's log-mel targets come from one 100 Hz log-mel per file, read once, and equal
what `probe.log_mel` computes from the audio directly."""

from __future__ import annotations

import math

import numpy as np
import soundfile as sf

from hybridcodec import measure, probe


def test_both_targets_pool_one_cached_log_mel(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    files = []
    for n, seconds in enumerate((0.93, 1.61)):  # lengths whose 25 Hz frame counts round differently
        path = tmp_path / f"u{n}.wav"
        sf.write(path, (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000)
        files.append(path)
    measure._mel_100hz.cache_clear()
    reads = []
    real_audio = measure.audio
    monkeypatch.setattr(measure, "audio", lambda p, *a: reads.append(p) or real_audio(p, *a))

    arrays = [np.zeros((n, 3)) for n in (24, 41)]  # a teacher's frame counts
    mels = measure.log_mels(files, arrays)
    targets = measure.mel_targets(files, 25.0)
    assert reads == files  # each file read once for both

    for f, a, stacked, target in zip(files, arrays, mels, targets, strict=True):
        wav = real_audio(f)
        direct = probe.log_mel(wav, 16000, len(a))
        np.testing.assert_array_equal(stacked, probe.causal_context(direct, measure.CONTEXT))
        frames = math.ceil(len(wav) / 16000 * 25.0)
        np.testing.assert_array_equal(target, probe.log_mel(wav, 16000, frames))
        assert target.shape == (frames, 80)
    measure._mel_100hz.cache_clear()
