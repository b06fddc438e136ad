"""Codec speed at a chosen batch size: real-time factor and throughput, measured the way they can be trusted.

Input is real speech (the first synthetic English sentence, looped to the requested length) so that codecs
whose cost depends on content are not flattered by silence. Each measurement: `warmup` untimed calls, then
`repeats` timed calls with the device synchronised before and after; the median is reported with the
minimum and maximum. RTF = seconds of compute / seconds of audio in the batch; throughput = its inverse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from hybridbench.audio import load_tensor
from hybridbench.codecs import Codec
from hybridbench.timing import device_name, timed


@dataclass(frozen=True)
class SpeedResult:
    codec: str
    stage: str  # "encode", "decode@k", or "encode+decode@k"
    device: str
    batch_size: int
    seconds_per_item: float
    precision: str
    median_s: float
    min_s: float
    max_s: float
    rtf: float
    throughput: float  # seconds of audio processed per second
    includes_ssl: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def speech_batch(sample_rate: int, seconds: float, batch_size: int) -> torch.Tensor:
    from hybridbench.suites.synthetic import SyntheticEnglish

    speech = load_tensor(SyntheticEnglish().items()[0].audio_path, sample_rate)[0, 0]
    n = int(round(seconds * sample_rate))
    looped = speech.repeat(n // speech.numel() + 1)[:n]
    return looped.reshape(1, 1, n).repeat(batch_size, 1, 1)


def measure(
    codec: Codec,
    *,
    batch_size: int,
    seconds: float,
    depth: int | None = None,
    repeats: int = 5,
    warmup: int = 2,
) -> list[SpeedResult]:
    depth = depth or codec.num_codebooks
    wav = speech_batch(codec.sample_rate, seconds, batch_size).to(codec.device)
    codes = codec.encode(wav)
    calls = {
        "encode": lambda: codec.encode(wav),
        # Codecs that run an SSL model to encode (DualCodec's w2v-BERT) and can run it alone declare so.
        **({"ssl-features": lambda: codec.semantic_features(wav)} if codec.ssl_timed_apart else {}),
        f"decode@{depth}": lambda: codec.decode(codes[:, :depth], length=wav.shape[-1]),
        f"encode+decode@{depth}": lambda: codec.decode(codec.encode(wav)[:, :depth], length=wav.shape[-1]),
    }
    audio_s = batch_size * seconds
    results = []
    for stage, fn in calls.items():
        for _ in range(warmup):
            fn()
        _, t = timed(fn, device=codec.device, repeats=repeats)
        results.append(
            SpeedResult(
                codec=codec.name,
                stage=stage,
                device=device_name(codec.device),
                batch_size=batch_size,
                seconds_per_item=seconds,
                precision=codec.precision,
                median_s=t.median_s,
                min_s=min(t.runs_s),
                max_s=max(t.runs_s),
                rtf=t.median_s / audio_s,
                throughput=audio_s / t.median_s,
                includes_ssl=codec.needs_ssl_at_inference and not stage.startswith("decode"),
            )
        )
    return results
