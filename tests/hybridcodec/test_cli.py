"""`hybridcodec encode` / `decode` round trip and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from hybridcodec.checkpoint import load_model
from hybridcodec.cli import main


def test_encode_decode_round_trip(trained_run: dict, speech_dir: Path, tmp_path: Path):
    out = trained_run["out"]
    npz, wav_out = tmp_path / "codes.npz", tmp_path / "decoded.wav"
    assert main(["encode", str(speech_dir / "utt2.wav"), str(npz), "--checkpoint", str(out)]) == 0
    data = np.load(npz)
    audio, sr = sf.read(speech_dir / "utt2.wav", dtype="float32")
    assert data["codes"].shape == (4, int(np.ceil(len(audio) / 640))) and int(data["length"]) == len(audio)
    assert main(["decode", str(npz), str(wav_out), "--checkpoint", str(out), "--depth", "2"]) == 0
    decoded, sr_out = sf.read(wav_out, dtype="float32")
    assert sr_out == 16000 and len(decoded) == len(audio)
    model, _ = load_model(out)
    expected = model.decode(torch.from_numpy(data["codes"][:2])[None])[0, 0, : len(audio)].numpy()
    assert np.abs(decoded - np.clip(expected, -1, 1)).max() < 1.5 / 32768  # 16-bit PCM rounding


def test_user_mistakes_are_one_line_errors(trained_run: dict, tmp_path: Path, capsys):
    out = str(trained_run["out"])
    train = ["train", "--preset", "tiny", "--steps", "40"]
    cases = [
        ["encode", str(tmp_path / "missing.wav"), str(tmp_path / "x.npz"), "--checkpoint", out],
        ["decode", str(tmp_path / "missing.npz"), str(tmp_path / "x.wav"), "--checkpoint", out],
        [*train, "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")],
        [*train, "--data", out, "--out", out, "--resume", "--batch-size", "3"],
        [*train, "--data", out, "--out", out, "--resume", "--anneal-start", "30"],  # without --anneal-steps
        [*train, "--data", out, "--out", out, "--resume", "--anneal-start", "5", "--anneal-steps", "10"],
        [*train, "--data", out, "--out", out, "--resume", "--rewarm"],  # without the next anneal
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("hybridcodec: error:"), err
