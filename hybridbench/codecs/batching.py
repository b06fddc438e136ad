"""Batching items of different lengths through a codec without changing their codes.

Two ways, chosen by the codec's `batch_exact` declaration:

* Equal-length groups (any codec). Most codecs have no padding masks: zero-padding an item changes its last
  frames (non-causal convolutions and attention see the padding) and, for DualCodec, the w2v-BERT features of
  the whole item. So items are grouped by exact length; each group is one equal-length batch, which is what
  every codec's own batching assumes. The result is identical to encoding the items one by one (a test checks
  this for DualCodec), and a batch of equal-length items (the common benchmark case of fixed crops) still runs
  as one batch.
* One zero-padded batch (codecs declaring `batch_exact`, e.g. causal ones, where right padding cannot reach
  earlier frames): `pad_to_longest` builds it, and each item keeps its own `frames_for` frames of the batch's
  codes and its own length of the batch's audio.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

import torch

from hybridbench.codecs.base import Codec, match_length


def equal_length_groups(lengths: Sequence[int], max_batch: int | None = None) -> list[list[int]]:
    """Indices of equal lengths, in groups of at most `max_batch` (None: no limit), in order of first use."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(lengths):
        by_length[n].append(i)
    groups = []
    for idx in by_length.values():
        step = max_batch or len(idx)
        groups.extend(idx[j : j + step] for j in range(0, len(idx), step))
    return groups


def pad_to_longest(wavs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Items [1, T_i] (or [1, 1, T_i]) -> one batch [B, 1, max T_i], zero-padded on the right."""
    longest = max(w.shape[-1] for w in wavs)
    return torch.stack([match_length(w.reshape(1, -1), longest) for w in wavs])


def frames_for(codec: Codec, num_samples: int) -> int:
    """Frames a codec gives for `num_samples` samples when it pads its input to whole frames: ceil(T / hop).

    The hop is sample rate / frame rate as an exact fraction, so a fractional hop (44.1 kHz / 86.13 Hz) does
    not round a whole number of frames up by one. This is what a `batch_exact` codec's frame count must be
    (its test checks it): an item of a padded batch keeps this many frames of the batch's codes."""
    hop = Fraction(codec.sample_rate) / Fraction(codec.frame_rate).limit_denominator(10**6)
    return max(1, math.ceil(Fraction(num_samples) / hop))


def encode_items(
    codec: Codec, wavs: Sequence[torch.Tensor], max_batch: int | None = None
) -> list[torch.Tensor]:
    """Encode items of any lengths: each wav [1, T_i] -> codes [Q, F_i] (int64), in input order.

    Items of equal length are encoded together in batches of at most `max_batch`.
    """
    out: list[torch.Tensor | None] = [None] * len(wavs)
    for group in equal_length_groups([w.shape[-1] for w in wavs], max_batch):
        batch = torch.stack([wavs[i].reshape(1, -1) for i in group])  # [b, 1, T]
        codes = codec.encode(batch)  # [b, Q, F]
        for j, i in enumerate(group):
            out[i] = codes[j]
    return out  # type: ignore[return-value]


def decode_items(
    codec: Codec,
    codes: Sequence[torch.Tensor],
    lengths: Sequence[int] | None = None,
    max_batch: int | None = None,
) -> list[torch.Tensor]:
    """Decode items of any lengths: each codes [k, F_i] -> wav [1, T_i'] (trimmed/padded to `lengths[i]` if given).

    All items must use the same depth k. Items with the same number of frames are decoded together.
    """
    out: list[torch.Tensor | None] = [None] * len(codes)
    for group in equal_length_groups([c.shape[-1] for c in codes], max_batch):
        wav = codec.decode(torch.stack([codes[i] for i in group]))  # [b, 1, T']
        for j, i in enumerate(group):
            out[i] = wav[j] if lengths is None else match_length(wav[j], lengths[i])
    return out  # type: ignore[return-value]
