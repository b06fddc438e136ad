"""Linear probes: how much of a target a representation carries, read as the held-out R2 of a ridge map.

Two kinds of input, both with a few causal frames of context (frame t and the `context - 1` before it, what a
causal codec has seen): dense features (log-mel, for the ceiling a local acoustic view reaches), and the codes
of a codec's first k codebooks as one-hot vectors, which makes the probe the same for every codec whatever
its codebook sizes or embeddings. The ridge strength is chosen on a held-out tenth of the fitting utterances,
then the map is refitted on all of them and scored on utterances it never saw. R2 is 1 - residual / total sum
of squares, the total about the held-out target's mean, summed over its dimensions.

One-hot designs have a column per (lag, codebook, entry): 5 x 4096 columns for RVQ-1 of a mini. The normal
equations are solved by conjugate gradients, all output dimensions at once, with the diagonal (the entry
counts) as preconditioner: they are nearly diagonal, so a few dozen iterations suffice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torchaudio

# Ridge strengths tried: for one-hot codes in pseudo-counts of an entry; for dense inputs relative to the mean
# eigenvalue of the (centred) Gram matrix.
ONEHOT_LAMBDAS = (0.1, 1.0, 10.0, 100.0)
DENSE_LAMBDAS = (1e-4, 1e-3, 1e-2, 0.1, 1.0)
CG_ITERATIONS = 60
CG_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ProbeResult:
    r2: float  # held-out
    ridge: float  # the chosen strength
    fit_frames: int
    eval_frames: int
    # Per held-out utterance: residual and total sums of squares (the total about the whole held-out set's
    # mean), so R2 = 1 - sum(sse) / sum(sst), and two probes on the same utterances compare with a paired
    # bootstrap over utterances (hybridbench.stats.paired_rate_difference of the unexplained shares).
    sse: tuple[float, ...] = ()
    sst: tuple[float, ...] = ()


def r2(pred: np.ndarray, target: np.ndarray) -> float:
    """1 - SSE / SST over [N, D] rows, SST about the target's own column means."""
    total = ((target - target.mean(0)) ** 2).sum()
    return float(1 - ((pred - target) ** 2).sum() / max(total, 1e-12))


def causal_context(x: np.ndarray, context: int) -> np.ndarray:
    """[F, d] -> [F, d * context]: frame t next to frames t-1 .. t-context+1 (zeros before the start)."""
    lagged = [
        np.concatenate([np.zeros((lag, x.shape[1]), x.dtype), x[: len(x) - lag]]) for lag in range(context)
    ]
    return np.concatenate(lagged, axis=1)


_MEL: dict[int, torchaudio.transforms.MelSpectrogram] = {}


def log_mel_100hz(wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """wav [T] -> [80, frames at 100 Hz] log10 mel (25 ms windows, 10 ms hop)."""
    if sample_rate not in _MEL:
        _MEL[sample_rate] = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=int(0.025 * sample_rate),
            hop_length=int(0.010 * sample_rate),
            n_mels=80,
        )
    return _MEL[sample_rate](wav.float().reshape(-1)).clamp(min=1e-5).log10()


def pool_frames(mel: torch.Tensor, n_frames: int) -> np.ndarray:
    """A [80, frames] log-mel averaged to [n_frames, 80]."""
    return torch.nn.functional.adaptive_avg_pool1d(mel[None], n_frames)[0].T.numpy()


def log_mel(wav: torch.Tensor, sample_rate: int, n_frames: int) -> np.ndarray:
    """wav [T] -> [n_frames, 80] log10 mel (25 ms windows, 10 ms hop), averaged to `n_frames` frames."""
    return pool_frames(log_mel_100hz(wav, sample_rate), n_frames)


def _split(groups: list[int]) -> np.ndarray:
    """Rows of every tenth utterance (by index): the inner validation set that chooses the ridge strength."""
    return np.repeat(np.arange(len(groups)) % 10 == 9, groups)


def ridge_dense(
    fit_x: list[np.ndarray], fit_y: list[np.ndarray], eval_x: list[np.ndarray], eval_y: list[np.ndarray]
) -> ProbeResult:
    """Per-utterance [F_i, d] inputs and [F_i, D] targets -> held-out R2 of the ridge map (intercept included)."""
    x, y = np.concatenate(fit_x).astype(np.float64), np.concatenate(fit_y).astype(np.float64)
    inner = _split([len(a) for a in fit_x])

    def solve(rows: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mx, my = x[rows].mean(0), y[rows].mean(0)
        xc = x[rows] - mx
        gram = xc.T @ xc
        scale = np.trace(gram) / gram.shape[0]
        w = np.linalg.solve(gram + lam * scale * np.eye(gram.shape[0]), xc.T @ (y[rows] - my))
        return w, mx, my, np.array(scale)

    def predict(params, data: np.ndarray) -> np.ndarray:
        w, mx, my, _ = params
        return (data - mx) @ w + my

    best = max(DENSE_LAMBDAS, key=lambda lam: r2(predict(solve(~inner, lam), x[inner]), y[inner]))
    ex, ey = np.concatenate(eval_x).astype(np.float64), np.concatenate(eval_y).astype(np.float64)
    return ProbeResult(r2(predict(solve(np.ones(len(x), bool), best), ex), ey), best, len(x), len(ex))


def onehot_design(codes: np.ndarray, sizes: tuple[int, ...], context: int) -> sp.csr_matrix:
    """codes [F, k] -> sparse [F, context * sum(sizes)]: one column per (lag, codebook, entry)."""
    frames, k = codes.shape
    offsets = np.concatenate([[0], np.cumsum(sizes[:k])])
    width = int(offsets[-1])
    rows, cols = [], []
    for lag in range(context):
        t = np.arange(lag, frames)
        for j in range(k):
            rows.append(t)
            cols.append(lag * width + offsets[j] + codes[t - lag, j])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(frames, context * width))


def _cg(gram: sp.csr_matrix, rhs: np.ndarray, lam: float, start: np.ndarray | None) -> np.ndarray:
    """Solve (gram + lam I) W = rhs for every column of rhs at once; Jacobi-preconditioned conjugate gradients."""
    diag = gram.diagonal() + lam
    w = np.zeros_like(rhs) if start is None else start.copy()
    r = rhs - (gram @ w + lam * w)
    z = r / diag[:, None]
    p = z.copy()
    rz = (r * z).sum(0)
    norm = np.sqrt((rhs**2).sum(0)) + 1e-12
    for _ in range(CG_ITERATIONS):
        ap = gram @ p + lam * p
        alpha = rz / np.maximum((p * ap).sum(0), 1e-30)
        w += alpha * p
        r -= alpha * ap
        if np.max(np.sqrt((r**2).sum(0)) / norm) < CG_TOLERANCE:
            break
        z = r / diag[:, None]
        rz_new = (r * z).sum(0)
        p = z + (rz_new / np.maximum(rz, 1e-30)) * p
        rz = rz_new
    return w


def ridge_onehot(
    fit_codes: list[np.ndarray],
    fit_y: list[np.ndarray],
    held: dict[str, tuple[list[np.ndarray], list[np.ndarray]]],
    *,
    sizes: tuple[int, ...],
    context: int,
) -> dict[str, ProbeResult]:
    """Per-utterance codes [F_i, k] and targets [F_i, D] -> the held-out R2 of the ridge map from one-hot codes
    on each held-out set (name -> (codes, targets)), the map fitted once."""
    x = sp.vstack([onehot_design(c, sizes, context) for c in fit_codes]).tocsr()
    y = np.concatenate(fit_y).astype(np.float32)
    inner = _split([len(c) for c in fit_codes])

    def fit(rows: np.ndarray, lam: float, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        xr, mean = x[rows], y[rows].mean(0)
        return _cg((xr.T @ xr).tocsr(), xr.T @ (y[rows] - mean), lam, start), mean

    scores, start = {}, None
    for lam in sorted(ONEHOT_LAMBDAS, reverse=True):  # strong to weak: each solution starts the next
        w, mean = fit(~inner, lam, start)
        scores[lam], start = r2(x[inner] @ w + mean, y[inner]), w
    best = max(scores, key=scores.get)
    w, mean = fit(np.ones(x.shape[0], bool), best, start)
    out = {}
    for name, (codes, targets) in held.items():
        ex = sp.vstack([onehot_design(c, sizes, context) for c in codes]).tocsr()
        ey = np.concatenate(targets).astype(np.float32)
        pred = ex @ w + mean
        sse, sst = per_utterance_sums(pred, ey, [len(c) for c in codes])
        out[name] = ProbeResult(r2(pred, ey), best, x.shape[0], ex.shape[0], sse, sst)
    return out


def per_utterance_sums(pred: np.ndarray, target: np.ndarray, lengths: list[int]) -> tuple[tuple, tuple]:
    """(residual, total) sums of squares of each utterance's frames, the total about the whole set's mean."""
    bounds = np.cumsum([0, *lengths])
    res = ((pred - target) ** 2).sum(1, dtype=np.float64)
    tot = ((target - target.mean(0)) ** 2).sum(1, dtype=np.float64)
    return (
        tuple(float(res[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)),
        tuple(float(tot[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)),
    )
