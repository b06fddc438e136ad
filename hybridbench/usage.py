"""Codebook usage: how many entries of each codebook a codec's encoder actually picks, and how evenly.

A residual quantizer that uses a few dozen of its 1,024 entries carries far fewer bits than its nominal rate,
so codebook collapse shows up here before it shows up as WER. Per codebook, over every frame of the audio given:
- `used`: distinct entries picked at least once;
- `perplexity`: exp of the entropy of the entry histogram (the number of equally likely entries with the same
  entropy): K for a uniform choice among K entries, 1 for a single entry;
- `bits`: log2 of the perplexity, the bits per frame the codebook carries at most as used here (against
  log2(size) nominally).
Only meaningful for codecs whose codes are quantizer indices (not for a classic codec's bitstream symbols).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class CodebookUsage:
    codebook: int  # 1-based: codebook k is depth k's last codebook
    size: int
    frames: int
    used: int
    perplexity: float
    bits: float

    @property
    def used_fraction(self) -> float:
        return self.used / self.size

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self) | {"used_fraction": self.used_fraction}


def codebook_usage(codes: list[torch.Tensor], sizes: tuple[int, ...]) -> list[CodebookUsage]:
    """codes: one [Q, F] int tensor per utterance (Q = len(sizes)) -> the usage of each codebook over all frames."""
    if not codes:
        raise ValueError("no codes to count")
    stacked = torch.cat([c.long().cpu() for c in codes], dim=-1)  # [Q, frames]
    if stacked.shape[0] != len(sizes):
        raise ValueError(f"codes have {stacked.shape[0]} codebooks, sizes give {len(sizes)}")
    out = []
    for q, size in enumerate(sizes):
        counts = torch.bincount(stacked[q], minlength=size).double()
        p = counts[counts > 0] / counts.sum()
        entropy = float(-(p * p.log()).sum())  # nats
        out.append(
            CodebookUsage(
                codebook=q + 1,
                size=size,
                frames=int(stacked.shape[1]),
                used=int((counts > 0).sum()),
                perplexity=math.exp(entropy),
                bits=entropy / math.log(2),
            )
        )
    return out
