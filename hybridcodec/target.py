"""The distillation target: raw teacher features turned into what a causal codec can learn.

Whisper's encoder sees a 30 s window padded with silence, and its largest output dimensions encode the frame's
absolute position in that window (they swing with frame index even on pure noise). A causal codec that sees
short crops cannot know that position, so distilling raw features spends most of the loss on it. Two steps fix
the target, both with statistics of the training corpus:

- `depositioned` (Whisper): subtract the corpus mean of the features at each window position (frame index from
  the start of the file, modulo the window), shrunk towards the global mean where few files reach a position;
- `standardized` (every teacher, and after the step above): per dimension, subtract the mean and divide by the
  standard deviation, so that no few dimensions dominate an MSE (what DualCodec does with w2v-BERT 2.0).

`TeacherTarget` holds the statistics as buffers of the model, so they travel inside the checkpoint (the
`dualcodec` variant also needs them at inference, where its teacher's features are its input), and their sha256
is part of the teacher's identity (`TeacherSpec.target_stats`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from hybridcodec.errors import HybridcodecError

# A position seen in n files gets the weight n / (n + SHRINK) for its own mean, the rest goes to the global mean:
# positions near the end of the longest files are reached by a handful of files and would otherwise be noise.
SHRINK = 10.0
WINDOW_SECONDS = 30.0  # Whisper's window: positions repeat every 30 s of a long file


class TeacherTarget(nn.Module):
    """raw teacher features [B, D, F] (+ the frame index of each crop's first frame) -> the distillation target."""

    def __init__(self, *, dim: int, positions: int = 0, window: int = 0):
        super().__init__()
        self.positions, self.window = positions, window
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("position_mean", torch.zeros(positions, dim))

    def forward(self, raw: torch.Tensor, start: torch.Tensor | int = 0) -> torch.Tensor:
        """raw [B, D, F]; start: [B] or an int, the index of each crop's first frame in its file."""
        x = raw.float()
        if self.positions:
            frames = torch.arange(x.shape[-1], device=x.device)
            start = torch.as_tensor(start, device=x.device).reshape(-1, 1)
            index = ((start + frames) % self.window).clamp(max=self.positions - 1)  # [B or 1, F]
            x = x - self.position_mean[index].transpose(1, 2)
        return (x - self.mean[:, None]) / self.std[:, None]

    def load_stats(self, stats: dict[str, torch.Tensor]) -> TeacherTarget:
        self.load_state_dict({k: torch.as_tensor(v).float() for k, v in stats.items()})
        return self

    def sha256(self) -> str:
        h = hashlib.sha256()
        for name in ("mean", "std", "position_mean"):
            h.update(getattr(self, name).detach().cpu().float().numpy().tobytes())
        return h.hexdigest()


def window_frames(frame_rate: float) -> int:
    return int(round(WINDOW_SECONDS * frame_rate))


def position_index(frames: int, window: int, positions: int) -> np.ndarray:
    """The window position of each of a file's first `frames` frames (the last known one beyond `positions`)."""
    return np.minimum(np.arange(frames) % window, positions - 1)


def position_means(arrays: list[np.ndarray], window: int) -> np.ndarray:
    """[positions, D]: the mean of the features at each window position over `arrays` (files [F_i, D], frame 0
    at window position 0), shrunk towards the global mean by SHRINK files."""
    positions = min(window, max(a.shape[0] for a in arrays))
    dim = arrays[0].shape[1]
    sums, counts = np.zeros((positions, dim)), np.zeros(positions)
    for a in arrays:
        index = position_index(a.shape[0], window, positions)
        np.add.at(sums, index, a)
        np.add.at(counts, index, 1)
    mean = sums.sum(0) / counts.sum()
    return (sums + SHRINK * mean) / (counts + SHRINK)[:, None]


def fit(arrays: Iterable[np.ndarray], *, kind: str, frame_rate: float) -> dict[str, torch.Tensor]:
    """Statistics of `kind` ("standardized" or "depositioned") from per-file raw features [F_i, D] (the training
    corpus), in float64. Returns the buffers of a `TeacherTarget`."""
    if kind not in ("standardized", "depositioned"):
        raise HybridcodecError(f"no statistics to fit for target {kind!r}")
    window = window_frames(frame_rate)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not arrays:
        raise HybridcodecError("no teacher features to fit the target statistics on")
    dim = arrays[0].shape[1]
    total = sum(a.sum(0) for a in arrays)
    count = sum(a.shape[0] for a in arrays)
    mean = total / count
    positions = 0
    position_mean = np.zeros((0, dim))
    if kind == "depositioned":
        positions = min(window, max(a.shape[0] for a in arrays))
        sums, counts = np.zeros((positions, dim)), np.zeros(positions)
        for a in arrays:
            index = np.minimum(np.arange(a.shape[0]) % window, positions - 1)
            np.add.at(sums, index, a)
            np.add.at(counts, index, 1)
        position_mean = (sums + SHRINK * mean) / (counts + SHRINK)[:, None]
        arrays = [
            a - position_mean[np.minimum(np.arange(a.shape[0]) % window, positions - 1)] for a in arrays
        ]
        mean = sum(a.sum(0) for a in arrays) / count
    var = sum(((a - mean) ** 2).sum(0) for a in arrays) / count
    std = np.sqrt(np.maximum(var, 1e-8))
    return {
        "mean": torch.from_numpy(mean).float(),
        "std": torch.from_numpy(std).float(),
        "position_mean": torch.from_numpy(position_mean).float(),
    }


def make_target(stats: dict[str, torch.Tensor], *, frame_rate: float) -> TeacherTarget:
    dim, positions = stats["mean"].shape[0], stats["position_mean"].shape[0]
    window = window_frames(frame_rate) if positions else 0
    return TeacherTarget(dim=dim, positions=positions, window=window).load_stats(stats)
