"""Grouping items of different lengths: same codes and audio as one by one, input order kept."""

from __future__ import annotations

import torch

from hybridbench.codecs.batching import decode_items, encode_items
from hybridbench.codecs.identity import IdentityCodec


class Recording(IdentityCodec):
    """The identity codec, remembering the batch shapes it was called with."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[int, ...]] = []

    def encode(self, wav):
        self.calls.append(tuple(wav.shape))
        return super().encode(wav)


def test_items_are_grouped_by_length_and_returned_in_order():
    g = torch.Generator().manual_seed(0)
    items = [0.1 * torch.randn(1, n, generator=g) for n in (100, 80, 100, 100, 80)]
    codec = Recording()
    codes = encode_items(codec, items, max_batch=2)
    assert sorted(codec.calls) == [(1, 1, 100), (2, 1, 80), (2, 1, 100)]
    for got, item in zip(codes, items, strict=True):
        assert torch.equal(got, codec.encode(item[None])[0])
    lengths = [x.shape[-1] + 3 for x in items]  # decode_items pads/trims to the requested lengths
    wavs = decode_items(codec, codes, lengths)
    for wav, item, n in zip(wavs, items, lengths, strict=True):
        assert wav.shape == (1, n)
        n_item = item.shape[-1]
        assert torch.equal(wav[:, :n_item], codec.decode(codec.encode(item[None]))[0])
        assert torch.all(wav[:, n_item:] == 0)
