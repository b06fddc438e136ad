"""The adapters load for inference with weight normalisation folded: the same codes and the same audio, bit for
bit, as the model as trained (issue 24: keep in the adapters what pays)."""

from __future__ import annotations

import torch

from hybridbench.codecs import CODECS
from hybridbench.codecs.weight_norm import weight_norm_count
from hybridcodec.inference import LoadedModel


def test_hybridcodec_adapter_folds_and_changes_no_number():
    codec = CODECS.get("hybridcodec-mini").load()
    assert weight_norm_count(codec.model) == 0
    trained = LoadedModel.load(codec.codec.path)
    assert weight_norm_count(trained.model) > 0
    wav = torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.inference_mode():
        codes = codec.encode(wav)
        reference = CODECS.get("hybridcodec-mini")(codec=trained, device="cpu")
        assert torch.equal(codes, reference.encode(wav))
        for depth in (1, 12):
            assert torch.equal(codec.decode(codes[:, :depth]), reference.decode(codes[:, :depth]))
