"""Helpers for the codec adapter tests (imported by the test modules in this folder)."""

from __future__ import annotations

import torch


def speechlike(batch: int, length: int, sample_rate: int, seed: int = 0) -> torch.Tensor:
    """[batch, 1, length] deterministic test audio: harmonic tones with a syllable-rate envelope plus noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / sample_rate
    out = []
    for _ in range(batch):
        f0 = 100 + 150 * torch.rand(1, generator=g)
        tone = sum(torch.sin(2 * torch.pi * f0 * h * t) / h for h in range(1, 6))
        envelope = 0.5 + 0.5 * torch.sin(2 * torch.pi * 4 * t + 6 * torch.rand(1, generator=g))
        noise = 0.05 * torch.randn(length, generator=g)
        out.append(0.2 * tone * envelope + noise)
    return torch.stack(out)[:, None, :].float()


def check_prefix_decoding(codec, codes: torch.Tensor, k: int, seed: int = 0) -> None:
    """Decoding at depth k reads exactly the first k codebooks of `codes` [B, Q, F].

    Changing codebooks k+1.. leaves the output bit-identical; changing codebook k changes it (so the check
    cannot pass vacuously).
    """
    g = torch.Generator().manual_seed(seed)
    sizes = codec.codebook_sizes
    base = codec.decode(codes[:, :k])
    later = codes.clone()
    for q in range(k, codes.shape[1]):
        later[:, q] = torch.randint(0, sizes[q], later[:, q].shape, generator=g)
    assert torch.equal(codec.decode(later[:, :k]), base)
    own = codes.clone()
    own[:, k - 1] = (
        own[:, k - 1] + 1 + torch.randint(0, sizes[k - 1] - 1, own[:, k - 1].shape, generator=g)
    ) % sizes[k - 1]
    assert not torch.equal(codec.decode(own[:, :k]), base)
