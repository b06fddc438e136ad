"""Measurements behind the distillation target and the probes: `hybridcodec teacher-check` and `hybridcodec probe`.

teacher-check, for one teacher and each way of turning its raw features into a target (hybridcodec.target),
with the statistics fitted on the fitting utterances (the training corpus) and everything read on held-out ones:
- position share: the held-out variance that the frame's window position alone explains (the per-position mean
  of the fitted target, as R2). A causal codec that sees short crops cannot know that position;
- concentration: the share of variance in the top 1, 8 and 32 principal components, and in the 7 largest
  dimensions (where raw Whisper-base puts its position signal);
- log-mel ceiling: the held-out R2 of a ridge map from 5 causal log-mel frames, how much of the target a
  local acoustic view can reach.

probe, for any registered codec: the held-out R2 of a ridge map from the one-hot codes of its first k
codebooks (a few causal frames) to a teacher's target, and to log-mel (hybridcodec.probe).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hybridbench.audio import load_audio, resample
from hybridcodec import probe
from hybridcodec import target as target_mod
from hybridcodec.data import FeatureStore, list_audio
from hybridcodec.errors import HybridcodecError
from hybridcodec.teachers import TeacherSpec, cache_id, make_teacher

SAMPLE_RATE = 16000  # what the teachers and log-mel read
FRAME_RATE = 25.0  # the minis' (and the paper's) frame rate, at which targets are compared
CONTEXT = 5  # causal frames a probe sees (200 ms at 25 Hz)


def utterances(source: str) -> list[Path]:
    """Audio files of a registered suite (by name) or of folders/manifests."""
    from hybridbench.suites import SUITES

    if source in SUITES.names():
        cls = SUITES.get(source)
        status = cls.status()
        if not status.available:
            raise HybridcodecError(f"suite {source} has no data here", status.hint)
        return [item.audio_path for item in cls().items()]
    return list_audio([source])


def audio(path: Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    data, sr = load_audio(path)
    return resample(torch.from_numpy(np.ascontiguousarray(data)), sr, sample_rate)


def _cache_root() -> Path:
    from hybridbench.paths import cache_dir

    return cache_dir("hybridcodec", "teacher-features")


def raw_features(
    spec: TeacherSpec, files: list[Path], *, frame_rate: float = FRAME_RATE, device: str = "cpu"
) -> list[np.ndarray]:
    """Each file's raw teacher features [frames, dim] at `frame_rate` (computed once, then cached)."""
    hop = int(round(SAMPLE_RATE / frame_rate))
    store = FeatureStore(
        root=_cache_root(), cache_id=cache_id(spec, device),
        sample_rate=SAMPLE_RATE, frame_rate=frame_rate, hop=hop,
    )  # fmt: skip
    store.prepare(files, lambda: make_teacher(spec, device=device))
    return [np.array(store.load(f), dtype=np.float32) for f in files]


def prefetch_layers(specs: list[TeacherSpec], files: list[Path], *, device: str = "cpu") -> None:
    """Fill the feature caches of several layers of one teacher file by file, so that teachers sharing an
    encoder (the Whisper layers) run one forward pass per file for all of them."""
    stores = [
        FeatureStore(
            root=_cache_root(),
            cache_id=cache_id(spec, device),
            sample_rate=SAMPLE_RATE,
            frame_rate=FRAME_RATE,
            hop=int(round(SAMPLE_RATE / FRAME_RATE)),
        )  # fmt: skip
        for spec in specs
    ]
    teachers = [None] * len(specs)
    for f in tqdm(files, desc="teacher layers", leave=False):
        for i, (spec, store) in enumerate(zip(specs, stores, strict=True)):
            if not store.path(f).is_file():
                teachers[i] = teachers[i] or make_teacher(spec, device=device)
                store.prepare([f], teachers[i], progress=False)


def processed(
    arrays: list[np.ndarray], stats: dict[str, torch.Tensor], frame_rate: float
) -> list[np.ndarray]:
    """Whole files (window position 0 at frame 0) through the target processing of `stats`."""
    module = target_mod.make_target(stats, frame_rate=frame_rate)
    with torch.no_grad():
        return [module(torch.from_numpy(a).T[None], 0)[0].T.numpy() for a in arrays]


def position_share(fit: list[np.ndarray], held: list[np.ndarray], frame_rate: float) -> float:
    """The held-out variance explained by the window position alone (fitted per-position means, as R2)."""
    window = target_mod.window_frames(frame_rate)
    means = target_mod.position_means([a.astype(np.float64) for a in fit], window)
    pred = np.concatenate([means[target_mod.position_index(len(a), window, len(means))] for a in held])
    return probe.r2(pred, np.concatenate(held).astype(np.float64))


def concentration(held: list[np.ndarray]) -> dict[str, float]:
    """Shares of the held-out variance in the top principal components and in the 7 largest dimensions."""
    x = np.concatenate(held).astype(np.float64)
    x = x - x.mean(0)
    eig = np.sort(np.linalg.eigvalsh(x.T @ x / len(x)))[::-1].clip(min=0)
    var = x.var(0)
    total = eig.sum()
    shares = {f"top{k}_pc": float(eig[:k].sum() / total) for k in (1, 8, 32)}
    shares["top7_dims"] = float(np.sort(var)[::-1][:7].sum() / var.sum())
    return shares


@functools.cache
def _mel_100hz(path: Path) -> tuple[torch.Tensor, int]:
    """A file's 100 Hz log-mel and its length in samples at SAMPLE_RATE, read and computed once per process:
    the teacher check (at each teacher's frame count) and the codes probe (at the codec's) both pool it."""
    wav = audio(path)
    return probe.log_mel_100hz(wav, SAMPLE_RATE), len(wav)


def log_mels(files: list[Path], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Each file's log-mel at the frame count of its feature array, with CONTEXT causal frames stacked."""
    return [
        probe.causal_context(probe.pool_frames(_mel_100hz(Path(f))[0], len(a)), CONTEXT)
        for f, a in zip(files, arrays, strict=True)
    ]


@dataclass(frozen=True)
class TargetCheck:
    target: str
    position_share: float
    top1_pc: float
    top8_pc: float
    top32_pc: float
    top7_dims: float
    logmel_r2: float
    fit_files: int
    held_files: int


def teacher_check(
    spec: TeacherSpec,
    fit_files: list[Path],
    held_files: list[Path],
    targets: tuple[str, ...] = ("raw", "standardized", "depositioned"),
    *,
    device: str = "cpu",
) -> list[TargetCheck]:
    """One TargetCheck per target kind (statistics fitted on `fit_files`, everything read on `held_files`)."""
    fit_raw, held_raw = (
        raw_features(spec, fit_files, device=device),
        raw_features(spec, held_files, device=device),
    )
    fit_mel, held_mel = log_mels(fit_files, fit_raw), log_mels(held_files, held_raw)
    out = []
    for kind in tqdm(targets, desc="targets", leave=False):
        if kind == "raw":
            fit, held = fit_raw, held_raw
        else:
            stats = target_mod.fit(fit_raw, kind=kind, frame_rate=FRAME_RATE)
            fit, held = processed(fit_raw, stats, FRAME_RATE), processed(held_raw, stats, FRAME_RATE)
        shares = concentration(held)
        out.append(
            TargetCheck(
                target=kind, position_share=position_share(fit, held, FRAME_RATE), **shares,
                logmel_r2=probe.ridge_dense(fit_mel, fit, held_mel, held).r2,
                fit_files=len(fit_files), held_files=len(held_files),
            )
        )  # fmt: skip
    return out


def check_table(spec: TeacherSpec, checks: list[TargetCheck]) -> str:
    from hybridbench.report.tables import markdown_table

    header = ["target", "position share", "top-1 PC", "top-8 PCs", "top-32 PCs", "top-7 dims", "log-mel R2"]
    rows = [
        [c.target, f"{100 * c.position_share:.1f} %", f"{100 * c.top1_pc:.1f} %", f"{100 * c.top8_pc:.1f} %",
         f"{100 * c.top32_pc:.1f} %", f"{100 * c.top7_dims:.1f} %", f"{c.logmel_r2:.3f}"]
        for c in checks
    ]  # fmt: skip
    return markdown_table(header, rows)


# ---- probes of codecs ------------------------------------------------------------------------------------------
def encode_files(
    encode: Callable[[torch.Tensor], torch.Tensor], sample_rate: int, files: list[Path]
) -> list[np.ndarray]:
    """Each file's codes [frames, Q] from `encode` (wav [1, 1, T] at `sample_rate` -> codes [1, Q, F])."""
    out = []
    with torch.inference_mode():
        for f in tqdm(files, desc="encode", leave=False):
            out.append(encode(audio(f, sample_rate)[None, None])[0].T.cpu().numpy().astype(np.int64))
    return out


def _fit_length(arrays: list[np.ndarray], codes: list[np.ndarray]) -> list[np.ndarray]:
    """Targets trimmed or zero-padded to the codec's frame count (codecs round lengths up or down a frame)."""
    out = []
    for a, c in zip(arrays, codes, strict=True):
        a = a[: len(c)]
        out.append(np.pad(a, ((0, len(c) - len(a)), (0, 0))) if len(a) < len(c) else a)
    return out


@dataclass(frozen=True)
class CodesProbe:
    codec: str
    split: str  # the held-out set it was read on
    depth: int
    teacher_r2: float
    logmel_r2: float
    fit_frames: int
    held_frames: int
    teacher_sse: tuple[float, ...] = ()  # per held-out utterance (probe.ProbeResult)
    teacher_sst: tuple[float, ...] = ()


def probe_codec(
    name: str,
    depth: int,
    sizes: tuple[int, ...],
    fit: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]],
    held: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]],
) -> list[CodesProbe]:
    """Held-out R2 of the one-hot codes of the first `depth` codebooks for a teacher's target and for log-mel.
    `fit` and each held-out set are (codes [F, Q], targets [F, D], log-mels [F, 80]) per utterance."""

    def cut(codes: list[np.ndarray], *targets: list[np.ndarray]) -> tuple:
        codes = [c[:, :depth] for c in codes]
        return (codes, *(_fit_length(t, codes) for t in targets))

    codes, teacher, mel = cut(*fit)
    cuts = {split: cut(*sets) for split, sets in held.items()}
    kw = {"sizes": sizes, "context": CONTEXT}
    by_teacher = probe.ridge_onehot(codes, teacher, {s: (c[0], c[1]) for s, c in cuts.items()}, **kw)
    by_mel = probe.ridge_onehot(codes, mel, {s: (c[0], c[2]) for s, c in cuts.items()}, **kw)
    return [
        CodesProbe(name, split, depth, by_teacher[split].r2, by_mel[split].r2, by_teacher[split].fit_frames,
                   by_teacher[split].eval_frames, by_teacher[split].sse, by_teacher[split].sst)
        for split in held
    ]  # fmt: skip


def paired_r2_difference(
    sse_a: Sequence[float], sst_a: Sequence[float], sse_b: Sequence[float], sst_b: Sequence[float]
) -> dict[str, float]:
    """R2(A) - R2(B) of two probes read on the same held-out utterances, from their per-utterance sums
    (`CodesProbe.teacher_sse`/`teacher_sst`): a paired bootstrap over utterances and a permutation p."""
    from hybridbench.stats import paired_rate_difference

    c = paired_rate_difference(sse_a, sst_a, sse_b, sst_b)
    # The bootstrap reads unexplained shares (1 - R2): A - B of R2 is minus their difference.
    return {"difference": -c.difference, "low": -c.high, "high": -c.low, "p": c.p_value, "pairs": c.n}


def mel_targets(files: list[Path], frame_rate: float) -> list[np.ndarray]:
    """Each file's log-mel [frames, 80] at `frame_rate` (the probe's acoustic target)."""
    out = []
    for f in files:
        mel, samples = _mel_100hz(Path(f))
        out.append(probe.pool_frames(mel, math.ceil(samples / SAMPLE_RATE * frame_rate)))
    return out


def as_dict(rows: list) -> list[dict]:
    return [asdict(r) for r in rows]


def probe_table(rows: list[CodesProbe]) -> str:
    from hybridbench.report.tables import markdown_table

    return markdown_table(
        ["codec", "codebooks", "teacher R2", "log-mel R2", "fit frames", "held-out frames"],
        [
            [
                r.codec,
                str(r.depth),
                f"{r.teacher_r2:.3f}",
                f"{r.logmel_r2:.3f}",
                str(r.fit_frames),
                str(r.held_frames),
            ]
            for r in rows
        ],
    )
