"""HybridCodec and the paper's three baselines, as one module with a `variant`.

    hybrid       wav -> Encoder -> h ─┬─ ConvNeXt_sem -> VQ(16384) = s ──────────────┬─> Decoder -> wav
                                      │                   └─ semantic head (ConvNeXt, 1x1) -> teacher space
                                      │                      (training loss only)
                                      └─ (h - s) -> ConvNeXt_ac -> RVQ(11 x 1024) = a ┘   (decoder input s + a)
    dac          wav -> Encoder -> RVQ(16384, 11 x 1024) -> Decoder
    dac-distill  as `dac`, the first codebook's output also mapped to the teacher space (by the same kind of
                 semantic head) and distilled
    dualcodec    teacher features -> ConvNeXt -> VQ(16384) -> ConvNeXt = s;  (Encoder(wav) - s) -> RVQ(11) = a;
                 Decoder(s + a). The teacher is an input, so it runs at inference too.

Codes are [B, Q, F] int64 with the semantic (or first) codebook first; depth k = the first k codebooks.
Everything is causal: encoder, ConvNeXt blocks and decoder only look back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from dac.nn.layers import WNConv1d
from torch import nn

from hybridcodec.config import SEMANTIC_HEAD_KEYS, ModelConfig
from hybridcodec.errors import HybridcodecError
from hybridcodec.nn.convnext import ConvNeXtStack
from hybridcodec.nn.layers import Decoder, Encoder
from hybridcodec.nn.quantize import ResidualVQ
from hybridcodec.target import TeacherTarget, window_frames


@dataclass
class ModelOutput:
    audio: torch.Tensor  # [B, 1, T] reconstruction (T = input length rounded up to the hop)
    codes: torch.Tensor  # [B, Q, F] int64
    commitment_loss: torch.Tensor  # scalar
    codebook_loss: torch.Tensor  # scalar
    semantic_pred: torch.Tensor | None  # [B, teacher_dim, F], prediction of the teacher's features
    depth: torch.Tensor  # [B] number of codebooks the decoder saw per item (quantizer dropout)


def make_semantic_head(c: ModelConfig) -> nn.Module:
    """The training-only map from the quantized RVQ-1 latent to the teacher space (`semantic_head_layers`)."""
    if c.semantic_head_layers == 0:
        return WNConv1d(c.latent_dim, c.teacher_dim, kernel_size=1)
    return ConvNeXtStack(
        in_dim=c.latent_dim, dim=c.convnext_dim, intermediate_dim=c.convnext_intermediate,
        layers=c.semantic_head_layers, out_dim=c.teacher_dim,
    )  # fmt: skip


class HybridCodec(nn.Module):
    """A 25 Hz speech codec with a distilled semantic codebook (see the module docstring for variants)."""

    def __init__(self, *, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.encoder = Encoder(dim=c.encoder_dim, rates=c.encoder_rates, latent_dim=c.latent_dim)
        self.decoder = Decoder(latent_dim=c.latent_dim, dim=c.decoder_dim, rates=c.decoder_rates)
        acoustic_sizes = (c.acoustic_codebook_size,) * c.n_acoustic_codebooks
        self.semantic_head: nn.Module | None = None
        # The distillation target's statistics (hybridcodec.target), kept with the weights they were trained on.
        self.teacher_target: TeacherTarget | None = None
        if c.uses_teacher and c.teacher_target != "raw":
            window = window_frames(c.frame_rate) if c.teacher_positions else 0
            self.teacher_target = TeacherTarget(
                dim=c.teacher_dim, positions=c.teacher_positions, window=window
            )

        def stack(in_dim: int, out_dim: int) -> ConvNeXtStack:
            return ConvNeXtStack(
                in_dim=in_dim, dim=c.convnext_dim, intermediate_dim=c.convnext_intermediate,
                layers=c.convnext_layers, out_dim=out_dim,
            )  # fmt: skip

        if c.variant == "hybrid":
            self.semantic_stream = stack(c.latent_dim, c.latent_dim)
            self.semantic_vq = ResidualVQ(
                input_dim=c.latent_dim,
                codebook_sizes=(c.semantic_codebook_size,),
                codebook_dim=c.codebook_dim,
            )
            self.acoustic_stream = stack(c.latent_dim, c.latent_dim)
            # min_depth 0: the acoustic RVQ also trains "no acoustic codebook", i.e. decoding from RVQ-1 alone.
            self.acoustic_vq = ResidualVQ(
                input_dim=c.latent_dim, codebook_sizes=acoustic_sizes, codebook_dim=c.codebook_dim,
                dropout=c.quantizer_dropout, min_depth=0,
            )  # fmt: skip
            self.semantic_head = make_semantic_head(c)
        elif c.variant in ("dac", "dac-distill"):
            self.vq = ResidualVQ(
                input_dim=c.latent_dim, codebook_sizes=c.codebook_sizes, codebook_dim=c.codebook_dim,
                dropout=c.quantizer_dropout, min_depth=1,
            )  # fmt: skip
            if c.variant == "dac-distill":
                self.semantic_head = make_semantic_head(c)
        else:  # dualcodec
            self.semantic_encoder = stack(c.teacher_dim, c.convnext_dim)
            self.semantic_vq = ResidualVQ(
                input_dim=c.convnext_dim,
                codebook_sizes=(c.semantic_codebook_size,),
                codebook_dim=c.codebook_dim,
            )
            self.semantic_decoder = stack(c.convnext_dim, c.latent_dim)
            self.acoustic_vq = ResidualVQ(
                input_dim=c.latent_dim, codebook_sizes=acoustic_sizes, codebook_dim=c.codebook_dim,
                dropout=c.quantizer_dropout, min_depth=0,
            )  # fmt: skip
            # DualCodec reconstructs its semantic input from the decoded semantic latent.
            self.semantic_head = WNConv1d(c.latent_dim, c.teacher_dim, kernel_size=1)

    # ---- helpers -------------------------------------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def pad(self, wav: torch.Tensor) -> torch.Tensor:
        """Right-pad [B, 1, T] with zeros to a whole number of frames."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise HybridcodecError(f"audio must be [B, 1, T] mono, got shape {tuple(wav.shape)}")
        return F.pad(wav, (0, -wav.shape[-1] % self.hop_length))

    def _check_teacher(self, teacher: torch.Tensor | None, frames: int) -> torch.Tensor:
        if teacher is None:
            raise HybridcodecError(
                "the dualcodec variant needs teacher features to encode",
                f"compute them with the {self.config.teacher or 'training'} teacher (hybridcodec.teachers)",
            )
        if teacher.shape[1] != self.config.teacher_dim or teacher.shape[-1] != frames:
            raise HybridcodecError(
                f"teacher features {tuple(teacher.shape)} do not match [B, {self.config.teacher_dim}, {frames}]"
            )
        return teacher

    # ---- training forward ----------------------------------------------------------------------------------
    def forward(self, wav: torch.Tensor, *, teacher: torch.Tensor | None = None) -> ModelOutput:
        """wav [B, 1, T] (T a multiple of the hop) and, for `dualcodec`, teacher [B, teacher_dim, F]."""
        h = self.encoder(self.pad(wav))  # [B, L, F]
        variant = self.config.variant
        if variant == "hybrid":
            sem = self.semantic_vq(self.semantic_stream(h))
            ac = self.acoustic_vq(self.acoustic_stream(h - sem.z))
            z, results, pred = sem.z + ac.z, (sem, ac), self.semantic_head(sem.z)
            depth = 1 + ac.depth
        elif variant in ("dac", "dac-distill"):
            q = self.vq(h)
            z, results, depth = q.z, (q,), q.depth
            pred = self.semantic_head(q.first) if self.semantic_head is not None else None
        else:
            sem = self.semantic_vq(self.semantic_encoder(self._check_teacher(teacher, h.shape[-1])))
            s = self.semantic_decoder(sem.z)
            ac = self.acoustic_vq(h - s)
            z, results, pred = s + ac.z, (sem, ac), self.semantic_head(s)
            depth = 1 + ac.depth
        return ModelOutput(
            audio=self.decoder(z),
            codes=torch.cat([r.codes for r in results], dim=1),
            commitment_loss=sum(r.commitment_loss for r in results),
            codebook_loss=sum(r.codebook_loss for r in results),
            semantic_pred=pred,
            depth=depth,
        )

    # ---- inference -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, wav: torch.Tensor, *, teacher: torch.Tensor | None = None) -> torch.Tensor:
        """wav [B, 1, T] -> codes [B, Q, ceil(T / hop)] int64, all codebooks. Uses eval-mode quantizers."""
        was_training = self.training
        self.eval()
        try:
            return self.forward_codes(wav, teacher=teacher)
        finally:
            self.train(was_training)

    def forward_codes(self, wav: torch.Tensor, *, teacher: torch.Tensor | None = None) -> torch.Tensor:
        h = self.encoder(self.pad(wav))
        variant = self.config.variant
        if variant == "hybrid":
            sem = self.semantic_vq(self.semantic_stream(h))
            ac = self.acoustic_vq(self.acoustic_stream(h - sem.z))
            return torch.cat([sem.codes, ac.codes], dim=1)
        if variant in ("dac", "dac-distill"):
            return self.vq(h).codes
        sem = self.semantic_vq(self.semantic_encoder(self._check_teacher(teacher, h.shape[-1])))
        ac = self.acoustic_vq(h - self.semantic_decoder(sem.z))
        return torch.cat([sem.codes, ac.codes], dim=1)

    def latent_from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F], 1 <= k <= Q -> the decoder's input [B, latent_dim, F]. Needs no teacher."""
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.config.num_codebooks:
            raise HybridcodecError(
                f"codes must be [B, k, F] with 1 <= k <= {self.config.num_codebooks}, got {tuple(codes.shape)}"
            )
        codes = codes.long()
        for i, size in enumerate(self.config.codebook_sizes[: codes.shape[1]]):
            if codes[:, i].min() < 0 or codes[:, i].max() >= size:
                raise HybridcodecError(f"codebook {i} holds indices outside [0, {size})")
        variant = self.config.variant
        if variant in ("dac", "dac-distill"):
            return self.vq.from_codes(codes)
        s = self.semantic_vq.from_codes(codes[:, :1])
        if variant == "dualcodec":
            s = self.semantic_decoder(s)
        if codes.shape[1] == 1:
            return s
        return s + self.acoustic_vq.from_codes(codes[:, 1:])

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * hop] from the first k codebooks."""
        return self.decoder(self.latent_from_codes(codes))


def with_semantic_head(model: HybridCodec, layers: int, *, seed: int = 0) -> HybridCodec:
    """`model` with a fresh semantic head of `layers` ConvNeXt blocks and every other weight kept.

    The semantic head only serves the training loss, so this changes nothing a checkpoint encodes or decodes;
    it lets a warm start move a run to another semantic head. The new head is initialised from `seed`.
    """
    config = replace(model.config, semantic_head_layers=layers)
    torch.manual_seed(seed)
    new = HybridCodec(config=config).to(next(model.parameters()).device)
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith(SEMANTIC_HEAD_KEYS)}
    result = new.load_state_dict(kept, strict=False)
    stray = [
        k for k in [*result.missing_keys, *result.unexpected_keys] if not k.startswith(SEMANTIC_HEAD_KEYS)
    ]
    if stray:
        raise HybridcodecError(f"cannot move the semantic head: weights {stray[:3]} do not carry over")
    return new.train(model.training)
