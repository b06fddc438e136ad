"""Frozen semantic teachers (training only, plus inference for the `dualcodec` variant).

One small interface: `Teacher.features(wav16k [T]) -> [N, dim]` at the teacher's native 50 Hz, and
`features_at(wav, sample_rate, frame_rate, n_frames) -> [n_frames, dim]` which resamples to 16 kHz, runs the
teacher, optionally normalises, and average-pools 50 Hz down to the codec's frame rate (25 Hz: pairs of frames).

- `w2v-bert-2.0`: transformers `Wav2Vec2BertModel` + `SeamlessM4TFeatureExtractor`, from a local folder or a hub
  name (`facebook/w2v-bert-2.0`, downloaded by transformers when online). Layer: `hidden_states[17]` by
  default. transformers' `hidden_states[0]` is the feature projection's output (before any conformer layer) and
  `hidden_states[i]` the output of conformer layer i counting from 1, so index 17 is "layer 16" counting from 0 -
  what DualCodec and MaskGCT use (`hidden_states[17]`) and how we read the paper's "layer 16". Pass `layer=16`
  for the 1-based reading. Optional mean/variance normalisation from a stats file holding `mean` and `var`
  (DualCodec's `w2vbert2_mean_var_stats_emilia.pt` has this format): (x - mean) / sqrt(var).
- `whisper-base-encoder`: the encoder of the offline Whisper base CTranslate2 model (its last layer; `layer=k`
  reads block k's output instead, through whisper_layers.py)
  (`hybridbench.whisper_models.whisper_model_dir("whisper-base")`): faster-whisper's log-mel front end on 30 s
  windows (audio padded with silence as Whisper does), `ctranslate2.models.Whisper.encode`, the valid 50 Hz
  frames of each window kept (512-d for base). Works with no network.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hybridbench.audio import resample
from hybridcodec.errors import HybridcodecError

TEACHER_SAMPLE_RATE = 16000
TEACHER_FRAME_RATE = 50.0  # both teachers: 20 ms frames
TEACHERS = ("w2v-bert-2.0", "whisper-base-encoder")


# How raw teacher features become the distillation target (hybridcodec.target): as the teacher gives them;
# standardised per dimension with training-corpus statistics; or, for Whisper's encoder, whose largest dimensions
# encode the frame's absolute position in its 30 s window, the corpus mean per window position removed first.
TARGETS = ("raw", "standardized", "depositioned")
DEFAULT_TARGET = {"w2v-bert-2.0": "standardized", "whisper-base-encoder": "depositioned"}


@dataclass(frozen=True)
class TeacherSpec:
    """Everything that identifies a teacher's features (stored in checkpoints, part of the cache key)."""

    name: str
    source: str = ""  # local folder or hub name; "" = the default for `name`
    layer: int | None = None  # w2v-bert-2.0 hidden_states index (default 17)
    stats: str = ""  # mean/var file (DualCodec's format) applied to the raw features; "" = none
    target: str = "raw"  # how the raw features become the distillation target (TARGETS)
    target_stats: str = ""  # sha256 of the fitted target statistics (hybridcodec.target), once fitted

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise HybridcodecError(
                f"unknown teacher target {self.target!r}", f"choose one of {', '.join(TARGETS)}"
            )

    def raw_key(self) -> str:
        """Identifies the raw features (what the feature cache holds): the target processing is not part of it."""
        raw = {"name": self.name, "source": self.source, "layer": self.layer, "stats": self.stats}
        return hashlib.sha1(repr(sorted(raw.items())).encode()).hexdigest()[:16]

    def key(self) -> str:
        """Identifies the distillation target: the raw features and their processing with its statistics."""
        return hashlib.sha1(repr(sorted(asdict(self).items())).encode()).hexdigest()[:16]


class Teacher(ABC):
    """A frozen model that turns 16 kHz speech into frame features."""

    spec: TeacherSpec
    dim: int
    compute_type: str = "float32"

    @property
    def cache_id(self) -> str:
        """Identifies these features for the on-disk cache (spec + numeric precision)."""
        return f"{self.spec.name}-{self.spec.raw_key()}-{self.compute_type}"

    @abstractmethod
    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [T] float at 16 kHz -> [ceil(T / 320), dim] float32 at 50 Hz (before normalisation)."""

    def __init__(self, *, spec: TeacherSpec):
        self.spec = spec
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        if spec.stats:
            try:
                stats = torch.load(spec.stats, map_location="cpu", weights_only=True)
                self.mean = torch.as_tensor(stats["mean"]).float().reshape(-1)
                self.std = torch.as_tensor(stats["var"]).float().reshape(-1).clamp(min=1e-8).sqrt()
            except (OSError, KeyError, RuntimeError) as exc:
                raise HybridcodecError(
                    f"cannot read teacher statistics {spec.stats}: {exc}", "a .pt file with 'mean' and 'var'"
                ) from exc

    @torch.no_grad()
    def features_at(
        self, wav: torch.Tensor, *, sample_rate: int, frame_rate: float, n_frames: int
    ) -> torch.Tensor:
        """wav [T] at `sample_rate` -> [n_frames, dim] at `frame_rate` (zero-padded or trimmed to n_frames)."""
        factor = TEACHER_FRAME_RATE / frame_rate
        if abs(factor - round(factor)) > 1e-9 or round(factor) < 1:
            raise HybridcodecError(f"frame rate {frame_rate} Hz does not divide the teacher's 50 Hz")
        x = self.features(resample(wav.float().reshape(-1), sample_rate, TEACHER_SAMPLE_RATE)).float()
        if self.mean is not None:
            x = (x - self.mean) / self.std
        k = int(round(factor))
        # Average-pool 50 Hz -> frame rate; a last incomplete group averages what it has (ceil_mode).
        x = F.avg_pool1d(x.T[None], kernel_size=k, stride=k, ceil_mode=True)[0].T
        if x.shape[0] < n_frames:
            x = F.pad(x, (0, 0, 0, n_frames - x.shape[0]))
        return x[:n_frames].contiguous()


class W2vBertTeacher(Teacher):
    """w2v-BERT 2.0 (580M, 1024-d) through transformers."""

    def __init__(self, *, spec: TeacherSpec, device: str | torch.device = "cpu"):
        super().__init__(spec=spec)
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

        source = spec.source or "facebook/w2v-bert-2.0"
        try:
            self.extractor = SeamlessM4TFeatureExtractor.from_pretrained(source)
            self.model = Wav2Vec2BertModel.from_pretrained(source).eval().to(device)
        except OSError as exc:
            raise HybridcodecError(
                f"cannot load w2v-bert-2.0 from {source!r}: {exc}".splitlines()[0],
                "pass --teacher-source with a local folder, or go online for the hub download",
            ) from exc
        self.layer = 17 if spec.layer is None else spec.layer
        n_hidden = self.model.config.num_hidden_layers
        if not 0 <= self.layer <= n_hidden:
            raise HybridcodecError(f"w2v-bert layer {self.layer} out of range", f"choose 0..{n_hidden}")
        self.dim = self.model.config.hidden_size
        self.device = torch.device(device)

    @torch.no_grad()
    def features(self, wav: torch.Tensor) -> torch.Tensor:
        inputs = self.extractor(wav.cpu().numpy(), sampling_rate=TEACHER_SAMPLE_RATE, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        out = self.model(**inputs, output_hidden_states=True)
        return out.hidden_states[self.layer][0].float().cpu()  # [N, dim] at 50 Hz


class WhisperEncoderTeacher(Teacher):
    """The encoder of a CTranslate2 Whisper model (default: the offline Whisper base)."""

    WINDOW = 30 * TEACHER_SAMPLE_RATE  # Whisper's fixed 30 s input
    HOP = 320  # samples per encoder frame (mel hop 160, conv stride 2)

    def __init__(
        self, *, spec: TeacherSpec, device: str = "cpu", device_index: int = 0, compute_type: str = "default"
    ):
        super().__init__(spec=spec)
        self.compute_type = compute_type
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        from hybridbench.whisper_models import whisper_model_dir

        source = spec.source or str(whisper_model_dir("whisper-base"))
        if not Path(source, "model.bin").is_file():
            raise HybridcodecError(
                f"no CTranslate2 Whisper model in {source!r}", "pass a faster-whisper model folder"
            )
        # CTranslate2 would start 4 threads by default; on a small shared CPU that oversubscribes it.
        threads = torch.get_num_threads() if device == "cpu" else 1
        self.model = ctranslate2.models.Whisper(
            source, device=device, device_index=device_index, compute_type=compute_type, intra_threads=threads
        )
        self.extractor = FeatureExtractor(feature_size=self.model.n_mels)
        # An intermediate layer (spec.layer: transformers' hidden_states index, 0 = the input embeddings, k = the
        # output of block k) is read from the same weights in PyTorch (whisper_layers), in float32.
        self.encoder = None
        if spec.layer is not None:
            self.encoder = _torch_encoder(source)
            if not 0 <= spec.layer <= self.encoder.config.encoder_layers:
                raise HybridcodecError(
                    f"Whisper encoder layer {spec.layer} out of range",
                    f"choose 0..{self.encoder.config.encoder_layers}, or no layer for the last (normalised) output",
                )
            self.compute_type = "float32"
        self.dim = self._encode(np.zeros(self.HOP, dtype=np.float32)).shape[-1]

    def _encode(self, chunk: np.ndarray) -> np.ndarray:
        import ctranslate2

        # Whisper's own way: pad the audio (not the mel) with silence to 30 s -> exactly 3000 mel frames.
        mel = self.extractor(chunk, padding=self.WINDOW - chunk.shape[0])[:, :3000]
        if self.encoder is not None:
            # Teachers of several layers share one encoder and its last window's states: reading k layers of a
            # file costs one forward pass.
            key = hashlib.sha1(mel.tobytes()).digest()
            last = getattr(self.encoder, "last_window", (None, None))
            if last[0] != key:
                with torch.inference_mode():
                    out = self.encoder(torch.from_numpy(mel)[None].float(), output_hidden_states=True)
                last = self.encoder.last_window = (key, out.hidden_states)
            return last[1][self.spec.layer][0].numpy()
        out = self.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None])), to_cpu=True
        )
        return np.array(out)[0]  # [1500, dim]

    @torch.no_grad()
    def features(self, wav: torch.Tensor) -> torch.Tensor:
        audio = wav.cpu().numpy().astype(np.float32)
        parts = []
        for start in range(0, max(len(audio), 1), self.WINDOW):
            chunk = audio[start : start + self.WINDOW]
            parts.append(self._encode(chunk)[: math.ceil(len(chunk) / self.HOP)])
        return torch.from_numpy(np.concatenate(parts)).float()


_TORCH_ENCODERS: dict[str, torch.nn.Module] = {}


def _torch_encoder(source: str) -> torch.nn.Module:
    """Whisper's encoder in PyTorch from a CTranslate2 model folder, loaded once per process."""
    if source not in _TORCH_ENCODERS:
        from hybridcodec.whisper_layers import encoder_from_ct2

        _TORCH_ENCODERS[source] = encoder_from_ct2(Path(source))
    return _TORCH_ENCODERS[source]


def cache_id(spec: TeacherSpec, device: str | torch.device = "cpu") -> str:
    """The feature-cache identity a teacher built on `device` will have, without loading it."""
    if spec.name == "whisper-base-encoder" and spec.layer is not None:
        compute_type = "float32"  # read in PyTorch (whisper_layers)
    elif spec.name == "whisper-base-encoder":
        compute_type = "float16" if torch.device(device).type == "cuda" else "int8"
    else:
        compute_type = "float32"
    return f"{spec.name}-{spec.raw_key()}-{compute_type}"


def make_teacher(spec: TeacherSpec, *, device: str | torch.device = "cpu") -> Teacher:
    """Build a teacher by name."""
    if spec.name == "w2v-bert-2.0":
        return W2vBertTeacher(spec=spec, device=device)
    if spec.name == "whisper-base-encoder":
        dev = torch.device(device)
        cuda = dev.type == "cuda"
        return WhisperEncoderTeacher(
            spec=spec,
            device=dev.type,
            device_index=dev.index or 0,
            compute_type="float16" if cuda else "int8",
        )
    raise HybridcodecError(f"unknown teacher {spec.name!r}", f"choose one of {', '.join(TEACHERS)}")
