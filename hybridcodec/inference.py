"""A trained checkpoint, ready to encode and decode: the model plus, for `dualcodec`, its teacher.

Used by the CLI and by the hybridbench adapter, so both run exactly the same path:
encode = pad to whole frames, `HybridCodec.encode`; decode = `HybridCodec.decode(codes[:, :k])`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from hybridcodec.checkpoint import load_model, resolve_model_path
from hybridcodec.errors import HybridcodecError
from hybridcodec.model import HybridCodec
from hybridcodec.teachers import Teacher, TeacherSpec, make_teacher


class LoadedModel:
    """A loaded HybridCodec checkpoint (any variant)."""

    def __init__(self, *, model: HybridCodec, metadata: dict[str, str], device: torch.device, path: Path):
        self.model, self.metadata, self.device, self.path = model, metadata, device, path
        c = model.config
        self.sample_rate, self.frame_rate, self.codebook_sizes = c.sample_rate, c.frame_rate, c.codebook_sizes
        self.teacher: Teacher | None = None
        if c.needs_teacher_at_inference:
            spec = metadata.get("teacher")
            if not spec:
                raise HybridcodecError("this dualcodec checkpoint does not name its teacher")
            self.teacher = make_teacher(TeacherSpec(**json.loads(spec)), device=device)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
        dev = torch.device(device)
        path = resolve_model_path(path)
        model, meta = load_model(path, device=dev)
        return cls(model=model, metadata=meta, device=dev, path=path)

    def teacher_features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> [B, teacher_dim, ceil(T / hop)] (the dualcodec variant's semantic input)."""
        assert self.teacher is not None
        c = self.model.config
        n = math.ceil(wav.shape[-1] / c.hop_length)
        feats = [
            self.teacher.features_at(
                w[0].cpu(), sample_rate=c.sample_rate, frame_rate=c.frame_rate, n_frames=n
            ).T
            for w in wav
        ]
        feats = torch.stack(feats).to(self.device)
        # The semantic input is the target the model was trained on (whole files: window positions from 0).
        return feats if self.model.teacher_target is None else self.model.teacher_target(feats, 0)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> codes [B, Q, ceil(T / hop)] int64."""
        wav = wav.to(self.device)
        teacher = self.teacher_features(wav) if self.teacher is not None else None
        return self.model.encode(wav, teacher=teacher)

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * hop]."""
        return self.model.decode(codes.to(self.device))
