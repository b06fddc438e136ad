"""Encoding and decoding a group of items through one codec, batched where that cannot change a number.

The runner hands a group of items (one codec, one suite, up to `--batch-items`); `BatchCoder` encodes them
and decodes each depth, timing every call. Two batching modes, chosen by the codec's `batch_exact`
declaration (see `codecs/batching.py`): one zero-padded batch for batch-exact codecs, else batches of equal
length. A batch that fails is retried one item at a time, so one bad item fails alone, and each item gets its
share of a batch's time in proportion to its samples (the RTF of a batched run is per item).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hybridbench.codecs import Codec, match_length
from hybridbench.codecs.batching import equal_length_groups, frames_for, pad_to_longest
from hybridbench.errors import HybridbenchError
from hybridbench.run_plan import WorkUnit
from hybridbench.timing import StageClock, Timed, timed


@dataclass(frozen=True)
class Input:
    """An item read once: its original audio, the 16 kHz reference it is scored against, and the waveform
    [1, 1, T] at the codec's rate on the run's device."""

    unit: WorkUnit
    data: np.ndarray
    sr: int
    reference16: np.ndarray
    wav: torch.Tensor

    @property
    def samples(self) -> int:
        return self.wav.shape[-1]


@dataclass(frozen=True)
class Encoded:
    """An item's codes: its own frames (`codes`, what it gets encoded alone; stored and counted) and its row of
    the batch it was encoded in (`batch_codes`, what a batch decodes), with its share of the batch's time."""

    source: Input
    codes: torch.Tensor  # [1, Q, F_i]
    batch_codes: torch.Tensor  # [1, Q, F_batch]
    time: Timed
    batch_size: int
    ssl_time: Timed | None = None  # the SSL model's part of `time`, for codecs that time it apart

    @property
    def unit(self) -> WorkUnit:
        return self.source.unit

    @property
    def samples(self) -> int:
        return self.source.samples


@dataclass(frozen=True)
class Decoded:
    audio: torch.Tensor  # [1, 1, T_i] at the codec's rate
    time: Timed  # this item's share of its decode batch's time
    batch_size: int


class BatchCoder:
    """Timed, batched encode and decode of a group of items through one loaded codec."""

    def __init__(
        self,
        codec: Codec,
        *,
        device: torch.device,
        clock: StageClock,
        batch_items: int,
        timing_repeats: int,
        padded: bool,
    ):
        self.codec = codec
        self.device = device
        self.clock = clock
        self.batch_items = batch_items
        self.repeats = timing_repeats
        self.padded = padded  # one zero-padded batch (a batch-exact codec, more than one item)

    # ---- encode -----------------------------------------------------------------------------------------
    def encode_all(self, inputs: list[Input]) -> list[Encoded | Exception]:
        """Each input's codes, in order, or the exception its encode raised. Batches: all inputs zero-padded
        to the longest (`padded`), or else inputs of equal length; a batch that fails is retried one by one,
        so one bad item fails alone."""
        batches = (
            [list(range(len(inputs)))]
            if self.padded
            else equal_length_groups([i.samples for i in inputs], self.batch_items)
        )
        out: list[Encoded | Exception | None] = [None] * len(inputs)
        for batch in batches:
            for index, result in zip(batch, self._encode_or_retry([inputs[i] for i in batch]), strict=True):
                out[index] = result
        return out  # type: ignore[return-value]

    def _encode_or_retry(self, inputs: list[Input]) -> list[Encoded | Exception]:
        try:
            return self._encode_batch(inputs)
        except Exception as exc:
            if len(inputs) == 1:
                return [exc]
        return [self._encode_or_retry([one])[0] for one in inputs]

    def _encode_batch(self, inputs: list[Input]) -> list[Encoded]:
        """One timed encode of `inputs` as a batch; each item keeps its own frames and its share of the time."""
        codec = self.codec
        wav = inputs[0].wav if len(inputs) == 1 else pad_to_longest([i.wav for i in inputs])
        with self.clock.stage("encode"):
            codes, time = timed(lambda: codec.encode(wav), device=self.device, repeats=self.repeats)
        ssl_time = self._time_ssl(wav)
        trim = self.padded and len(inputs) > 1
        if trim and codes.shape[-1] != frames_for(codec, wav.shape[-1]):
            raise HybridbenchError(
                f"{codec.name} declares batch_exact but gave {codes.shape[-1]} frames for {wav.shape[-1]} "
                f"samples, not ceil(samples / hop) = {frames_for(codec, wav.shape[-1])}"
            )
        total = sum(i.samples for i in inputs)
        return [
            Encoded(
                source,
                codes[j : j + 1, :, : frames_for(codec, source.samples)] if trim else codes[j : j + 1],
                codes[j : j + 1],
                share(time, source.samples, total),
                len(inputs),
                share(ssl_time, source.samples, total) if ssl_time is not None else None,
            )
            for j, source in enumerate(inputs)
        ]

    def _time_ssl(self, wav: torch.Tensor) -> Timed | None:
        """The SSL model's share of encoding, timed alone, for codecs that run one at inference and can run it
        apart (`ssl_timed_apart`): reports split encode RTF into SSL extraction and the rest. It costs one more
        feature extraction per encode; a failure here is the encode's failure (the same model)."""
        codec = self.codec
        if not type(codec).ssl_timed_apart:
            return None
        with self.clock.stage("ssl (timed apart)"):
            _, time = timed(lambda: codec.semantic_features(wav), device=self.device, repeats=self.repeats)
        return time

    # ---- decode -----------------------------------------------------------------------------------------
    def decode_all(self, members: list[Encoded], depth: int) -> list[Decoded | Exception]:
        """Each member's audio decoded from its first `depth` codebooks, trimmed to its own length, in order.

        Codes of equal frame count decode as one batch: the rows of one padded batch (a batch-exact codec, its
        frames past the longest member's own dropped), or items that were encoded at equal length. A batch
        that fails is retried one by one from each item's own codes."""
        out: list[Decoded | Exception | None] = [None] * len(members)
        frames = [m.batch_codes.shape[-1] for m in members]
        for batch in equal_length_groups(frames, self.batch_items):
            results = self._decode_or_retry([members[i] for i in batch], depth)
            for index, result in zip(batch, results, strict=True):
                out[index] = result
        return out  # type: ignore[return-value]

    def _decode_or_retry(self, members: list[Encoded], depth: int) -> list[Decoded | Exception]:
        try:
            return self._decode_batch(members, depth)
        except Exception as exc:
            if len(members) == 1:
                return [exc]
        return [self._decode_or_retry([one], depth)[0] for one in members]

    def _decode_batch(self, members: list[Encoded], depth: int) -> list[Decoded]:
        """One timed decode of the members' first `depth` codebooks; each keeps its own length and time share."""
        if len(members) == 1:  # alone: its own codes, exactly the one-by-one path
            codes = members[0].codes[:, :depth]
        else:
            # Causal (batch-exact) codecs: frames past every member's own cannot change their samples.
            keep = (
                max(m.codes.shape[-1] for m in members) if self.padded else members[0].batch_codes.shape[-1]
            )
            codes = torch.cat([m.batch_codes[:, :depth, :keep] for m in members])
        codec = self.codec
        with self.clock.stage("decode"):
            out, time = timed(lambda: codec.decode(codes), device=self.device, repeats=self.repeats)
        total = sum(m.samples for m in members)
        return [
            Decoded(match_length(out[j : j + 1], m.samples), share(time, m.samples, total), len(members))
            for j, m in enumerate(members)
        ]


def share(time: Timed, samples: int, total: int) -> Timed:
    """An item's part of a batch's time: the batch's time in proportion to the item's audio samples."""
    fraction = samples / total
    return Timed(time.median_s * fraction, tuple(run * fraction for run in time.runs_s))
