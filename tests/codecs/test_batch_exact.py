"""Batching items through every registered codec that loads here gives their one-by-one codes, audio and scores.

A codec declaring `batch_exact` gets one zero-padded batch of three items of different lengths (what the runner
does with --batch-items): each item's own frames of the batch's codes must be its one-by-one codes, and the
batch's decoded audio, trimmed to the item's length, its one-by-one audio, PESQ and STOI. Every other codec is
batched by equal length only (codecs/batching.py), which must give the one-by-one codes and audio too.

Tolerances, stated once and measured on the shipped minis (CPU, 2 threads): codes may differ at a vanishing
fraction of entries (a nearest-codeword tie flipped by float reassociation in batched kernels; measured: none),
audio by CODEC_AUDIO_ATOL (measured: at most 3.3e-7), PESQ by PESQ_ATOL and STOI by STOI_ATOL (measured: 4e-7
and 2e-8). Codecs whose weights or packages are not here are skipped with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridbench.audio import load_tensor, resample
from hybridbench.codecs import CODECS, match_length
from hybridbench.codecs.batching import decode_items, encode_items, frames_for, pad_to_longest
from hybridbench.errors import HybridbenchError
from hybridbench.metrics import METRICS
from hybridbench.metrics.asr import ASR_SAMPLE_RATE

CODE_MISMATCH_FRACTION = 1e-3  # of an item's code entries: argmin ties only
CODEC_AUDIO_ATOL = 1e-4
PESQ_ATOL = 1e-3
STOI_ATOL = 1e-5
# Three crops of different lengths, none a whole number of frames of any codec here.
# Short (the minis encode about real time on a busy 2-core CPU) but past the leading silence and long enough
# for STOI (at least ~0.4 s of speech).
CROP_START_S = 0.25
CROP_SECONDS = (0.85, 0.65, 0.75)
CROP_EXTRA_SAMPLES = (7, 131, 59)


@pytest.fixture(scope="module")
def speech16(synthetic_en_items) -> list[torch.Tensor]:
    """Three items of different lengths at 16 kHz, [1, T_i]."""
    out = []
    for item, seconds, extra in zip(synthetic_en_items, CROP_SECONDS, CROP_EXTRA_SAMPLES, strict=False):
        wav = load_tensor(item.audio_path, 16000)[0]
        start = int(CROP_START_S * 16000)
        out.append(wav[:, start : start + int(seconds * 16000) + extra])
    return out


def _load(name: str):
    cls = CODECS.get(name)
    status = cls.weights_status()
    if not status.available:
        pytest.skip(f"{name}: weights not here ({status.hint})")
    try:
        return cls.load(device="cpu")
    except HybridbenchError as exc:
        pytest.skip(f"{name}: cannot load offline ({exc.message})")


def _at_codec_rate(codec, speech16: list[torch.Tensor]) -> list[torch.Tensor]:
    return [resample(w[None], 16000, codec.sample_rate)[0] for w in speech16]


def _to16(wav: torch.Tensor, sample_rate: int, length16: int) -> np.ndarray:
    return match_length(resample(wav.float().reshape(1, 1, -1), sample_rate, ASR_SAMPLE_RATE), length16)[
        0, 0
    ].numpy()


def _assert_codes_match(batched: torch.Tensor, alone: torch.Tensor, name: str) -> None:
    assert batched.shape == alone.shape, name
    differ = (batched != alone).float().mean().item()
    assert differ <= CODE_MISMATCH_FRACTION, f"{name}: {differ:.2%} of codes differ"


@pytest.mark.parametrize("name", CODECS.names())
def test_a_padded_batch_gives_each_item_its_one_by_one_codes_audio_and_scores(name: str, speech16):
    if not CODECS.get(name).batch_exact:
        pytest.skip(f"{name} does not declare batch_exact (batched by equal length; see the test below)")
    codec = _load(name)
    if not codec.info().batch_exact:  # a checkpoint may withdraw it (a variant running a teacher)
        pytest.skip(f"{name}: this checkpoint is not batch-exact")
    wavs = _at_codec_rate(codec, speech16)
    batch_codes = codec.encode(pad_to_longest(wavs))
    assert batch_codes.shape[-1] == frames_for(codec, max(w.shape[-1] for w in wavs))
    full = codec.num_codebooks
    batch_audio = codec.decode(batch_codes)
    pesq, stoi = METRICS.get("pesq-wb")(), METRICS.get("stoi")()
    for i, wav in enumerate(wavs):
        alone = codec.encode(wav[None])
        assert alone.shape[-1] == frames_for(codec, wav.shape[-1])
        _assert_codes_match(batch_codes[i : i + 1, :, : alone.shape[-1]], alone, name)
        one_by_one = codec.decode(alone[:, :full], length=wav.shape[-1])
        batched = match_length(batch_audio[i : i + 1], wav.shape[-1])
        assert (batched - one_by_one).abs().max().item() <= CODEC_AUDIO_ATOL
        reference = speech16[i][0].numpy()
        solo16 = _to16(one_by_one, codec.sample_rate, reference.shape[-1])
        batch16 = _to16(batched, codec.sample_rate, reference.shape[-1])
        assert pesq(reference, batch16) == pytest.approx(pesq(reference, solo16), abs=PESQ_ATOL)
        assert stoi(reference, batch16) == pytest.approx(stoi(reference, solo16), abs=STOI_ATOL)


@pytest.mark.parametrize("name", CODECS.names())
def test_equal_length_batches_give_each_item_its_one_by_one_codes_and_audio(name: str, speech16):
    if CODECS.get(name).batch_exact:
        pytest.skip(f"{name} declares batch_exact: the runner batches it padded (the test above)")
    codec = _load(name)
    wavs = _at_codec_rate(codec, speech16)
    # Two items cut to one length and one of another: one batch of two, one of one.
    equal = min(w.shape[-1] for w in wavs[:2])
    items = [wavs[0][:, :equal], wavs[1][:, :equal], wavs[2]]
    codes = encode_items(codec, items)
    depth = codec.describe().depths[0]
    decoded = decode_items(codec, [c[:depth] for c in codes], [w.shape[-1] for w in items])
    for wav, got, audio in zip(items, codes, decoded, strict=True):
        alone = codec.encode(wav[None])
        _assert_codes_match(got[None], alone, name)
        one_by_one = codec.decode(alone[:, :depth], length=wav.shape[-1])
        assert (audio[None] - one_by_one).abs().max().item() <= CODEC_AUDIO_ATOL


def test_only_codecs_that_cannot_see_the_padding_declare_batch_exact():
    exact = {name for name in CODECS.names() if CODECS.get(name).batch_exact}
    # Causal CNNs (HybridCodec and its trained variants without a teacher, their shipped minis) and the
    # identity; a teacher at inference (the dualcodec variant) or a non-causal model sees the padding.
    assert {"identity", "hybridcodec", "hybridcodec-mini", "dac-mini", "dac-distill-mini"} <= exact
    for name in ("dualcodec-mini", "hybridcodec-dualcodec", "dac-16khz", "snac-24khz", "encodec-24khz"):
        assert name not in exact
    for name in exact:
        assert CODECS.get(name).causal, f"{name} declares batch_exact but is not causal"
