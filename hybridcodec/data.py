"""Training data: audio files from folders or manifests, step-indexed random crops, cached teacher features.

Crops are a pure function of (seed, step, rank): the batch of step s on rank r is drawn from
`numpy.random.default_rng([seed, s, r])`. Resuming at step s therefore needs no sampler state, and every
variant trained with the same seed sees exactly the same audio in the same order (the paper's "identical
conditions" for its baselines). Crops start on frame boundaries so that teacher features, cached once per file
at the codec frame rate, are cut in step with the audio.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from hybridbench.audio import load_audio, resample
from hybridcodec.errors import HybridcodecError
from hybridcodec.target import TeacherTarget
from hybridcodec.teachers import Teacher, TeacherSpec, cache_id

if TYPE_CHECKING:
    from hybridcodec.config import ModelConfig

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".m4a", ".g722")
MANIFEST_EXTENSIONS = (".txt", ".lst", ".tsv", ".csv", ".jsonl", ".json")


def list_audio(sources: list[str]) -> list[Path]:
    """Audio files from folders (searched recursively) and manifests (one path per line, or JSON lines with
    `audio_filepath`, `audio` or `path`; relative paths are relative to the manifest). Sorted, de-duplicated."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
            if not found:
                raise HybridcodecError(f"no audio files in {path}", f"expected {', '.join(AUDIO_EXTENSIONS)}")
            files += found
        elif path.is_file() and path.suffix.lower() in MANIFEST_EXTENSIONS:
            files += _read_manifest(path)
        elif path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
            files.append(path)
        else:
            raise HybridcodecError(f"--data {source}: not a folder, manifest or audio file")
    unique = sorted({p.resolve() for p in files})
    missing = [p for p in unique if not p.is_file()]
    if missing:
        raise HybridcodecError(f"{len(missing)} listed audio files do not exist, e.g. {missing[0]}")
    return unique


def _read_manifest(path: Path) -> list[Path]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
                entry = next(row[k] for k in ("audio_filepath", "audio", "path") if k in row)
            except (json.JSONDecodeError, StopIteration) as exc:
                raise HybridcodecError(
                    f"{path}:{n}: a JSON line needs audio_filepath, audio or path"
                ) from exc
        else:
            entry = line.replace("|", "\t").replace(",", "\t").split("\t")[0].strip()
        if n == 1 and Path(entry).suffix.lower() not in AUDIO_EXTENSIONS:
            continue  # a header row
        p = Path(entry)
        out.append(p if p.is_absolute() else path.parent / p)
    if not out:
        raise HybridcodecError(f"manifest {path} lists no audio files")
    return out


def _num_samples(path: Path, sample_rate: int) -> int:
    try:
        info = sf.info(str(path))
        return math.ceil(info.frames * sample_rate / info.samplerate)
    except RuntimeError:  # a format libsndfile cannot read: decode it once
        data, sr = load_audio(path)
        return math.ceil(len(data) * sample_rate / sr)


class FeatureStore:
    """Teacher features per file at the codec frame rate, computed once and kept as .npy under `root`.

    A file's cache name hashes its path, size and mtime, the teacher's identity (name, source, layer, stats,
    precision), the sample rate and the frame rate, so editing any of them recomputes rather than reuses.
    """

    def __init__(self, *, root: Path, cache_id: str, sample_rate: int, frame_rate: float, hop: int):
        self.root = Path(root) / cache_id
        self.sample_rate, self.frame_rate, self.hop = sample_rate, frame_rate, hop

    @classmethod
    def for_model(
        cls, teacher: TeacherSpec, model: ModelConfig, device: str | torch.device, root: Path | None = None
    ) -> FeatureStore:
        """The store a model of this config trains from (root default: the user cache)."""
        from hybridbench.paths import cache_dir

        return cls(
            root=root or cache_dir("hybridcodec", "teacher-features"), cache_id=cache_id(teacher, device),
            sample_rate=model.sample_rate, frame_rate=model.frame_rate, hop=model.hop_length,
        )  # fmt: skip

    def path(self, file: Path) -> Path:
        st = file.stat()
        key = f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.sample_rate}|{self.frame_rate}"
        return self.root / f"{hashlib.sha1(key.encode()).hexdigest()}.npy"

    @property
    def dim(self) -> int:
        """The features' size, recorded by whoever computed them."""
        try:
            return int(json.loads((self.root / "meta.json").read_text())["dim"])
        except (OSError, KeyError, ValueError) as exc:
            raise HybridcodecError(
                f"teacher feature cache {self.root} has no meta.json", "delete the folder"
            ) from exc

    def prepare(
        self,
        files: list[Path],
        teacher: Teacher | Callable[[], Teacher],
        *,
        rank: int = 0,
        world: int = 1,
        progress: bool = True,
    ) -> None:
        """Compute the missing features of this rank's share of `files` (callers barrier afterwards).

        `teacher` may be a factory: it is only called (the model only loaded) when something is missing.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        meta = self.root / "meta.json"
        todo = [f for i, f in enumerate(files) if i % world == rank and not self.path(f).is_file()]
        if not todo and meta.is_file():
            return
        if not isinstance(teacher, Teacher):
            teacher = teacher()
        tmp_meta = meta.with_suffix(f".{rank}.tmp")
        tmp_meta.write_text(json.dumps({"dim": teacher.dim, "teacher": teacher.cache_id}))
        tmp_meta.replace(meta)
        for file in tqdm(
            todo,
            desc=f"teacher {teacher.spec.name}",
            disable=rank != 0 or not todo or not progress,
            leave=False,
        ):
            data, sr = load_audio(file)
            wav = resample(torch.from_numpy(data), sr, self.sample_rate)
            n_frames = math.ceil(wav.shape[-1] / self.hop)
            feats = teacher.features_at(
                wav, sample_rate=self.sample_rate, frame_rate=self.frame_rate, n_frames=n_frames
            )
            target = self.path(file)
            tmp = target.with_suffix(f".{rank}.tmp.npy")
            np.save(tmp, feats.numpy().astype(np.float32))
            tmp.replace(target)

    def load(self, file: Path) -> np.ndarray:
        """[frames, dim] float32 (memory-mapped)."""
        path = self.path(file)
        if not path.is_file():
            raise HybridcodecError(f"teacher features of {file} are not cached", "run prepare() first")
        return np.load(path, mmap_mode="r")


class CropSampler:
    """Random fixed-length crops of a corpus, as a pure function of (seed, step, rank)."""

    def __init__(
        self,
        *,
        files: list[Path],
        sample_rate: int,
        hop: int,
        segment_frames: int,
        batch_size: int,
        seed: int,
        features: FeatureStore | None = None,
        target: TeacherTarget | None = None,
        cache_files: int = 256,
    ):
        if not files:
            raise HybridcodecError("no training files")
        self.files = files
        self.sample_rate, self.hop = sample_rate, hop
        self.segment_frames, self.batch_size, self.seed = segment_frames, batch_size, seed
        # Turns the raw cached features into the distillation target (on the CPU, knowing each crop's start).
        self.features, self.target = features, target
        self.lengths = [_num_samples(f, sample_rate) for f in files]
        self._cache: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._cache_files = cache_files

    def audio(self, index: int) -> torch.Tensor:
        """File `index` as [T] float32 at the model's sample rate (an LRU cache keeps recent files decoded)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        data, sr = load_audio(self.files[index])
        wav = resample(torch.from_numpy(np.ascontiguousarray(data)), sr, self.sample_rate)
        self._cache[index] = wav
        if len(self._cache) > self._cache_files:
            self._cache.popitem(last=False)
        return wav

    def batch(self, step: int, rank: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (wav [B, 1, frames * hop], teacher [B, dim, frames] or None). Short files are zero-padded."""
        rng = np.random.default_rng([self.seed, step, rank])
        n, seg = self.segment_frames, self.segment_frames * self.hop
        wavs, feats, starts = [], [], []
        for index in rng.integers(0, len(self.files), size=self.batch_size):
            wav = self.audio(int(index))
            total_frames = math.ceil(wav.shape[-1] / self.hop)
            start = int(rng.integers(0, total_frames - n + 1)) if total_frames > n else 0
            starts.append(start)
            crop = wav[start * self.hop : start * self.hop + seg]
            wavs.append(torch.nn.functional.pad(crop, (0, seg - crop.shape[-1])))
            if self.features is not None:
                f = torch.from_numpy(np.array(self.features.load(self.files[int(index)])[start : start + n]))
                feats.append(torch.nn.functional.pad(f, (0, 0, 0, n - f.shape[0])).T)
        wav = torch.stack(wavs)[:, None]
        if not feats:
            return wav, None
        feats = torch.stack(feats)
        if self.target is not None:
            feats = self.target(feats, torch.tensor(starts))
        return wav, feats
