"""The paper's speed claim at paper size: HybridCodec (`paper` preset) beside DualCodec 25 Hz with its full
w2v-BERT 2.0 feature extraction and DAC 16 kHz, timed in one interleaved run.

All three models have random weights (speed does not depend on weight values, and no pretrained weights exist
offline):
- HybridCodec: `hybridcodec.config.preset("paper")`, 24 kHz. Encode = causal encoder + both streams + all 12
  codebooks; decode = all 12 codebooks -> waveform. No SSL model at inference.
- DualCodec 25 Hz: built from dualcodec's own `conf/model/dualcodec_25hz_16384_1024_12vq.yaml` with hydra (as
  `dualcodec.get_model` does). Encode INCLUDES its semantic input, computed as `dualcodec.Inference` does:
  resample 24 -> 16 kHz, SeamlessM4TFeatureExtractor, the full-size w2v-BERT 2.0
  (`Wav2Vec2BertModel(Wav2Vec2BertConfig())`, 580M parameters, all layers, `hidden_states[17]`), mean/var
  normalisation, 50 -> 25 Hz average pooling; then `DualCodec.encode(num_quantizers=12)`. Decode =
  `decode_from_codes` (no w2v-BERT).
- DAC 16 kHz (the 6 kbps layout: 12 x 1024 at 50 Hz): `dac.DAC(...)` with its published 16 kHz settings,
  `encode` of the padded input, `quantizer.from_codes` + `decode`.

Timing: one warm-up call per model and operation, then `repeats` rounds in which the models take turns
(interleaved, so a noisy machine slows all of them alike); the device is synchronised before every clock read.
RTF = median seconds per call / seconds of audio in the batch (lower is faster). Memory: on CUDA,
`torch.cuda.max_memory_allocated` during the call; on the CPU, the peak resident-set growth during the call
(sampled every 2 ms). Measure on a quiet machine: other jobs distort the ratio.
"""

from __future__ import annotations

import importlib.resources
import math
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

HYBRID, DUAL, DAC16 = "HybridCodec (paper)", "DualCodec 25 Hz", "DAC 16 kHz"


@dataclass
class Subject:
    name: str
    sample_rate: int
    params: dict[str, int]  # label -> parameter count of what runs at inference
    encode: Callable[[torch.Tensor], object]
    decode: Callable[[object], torch.Tensor]
    note: str = ""
    codes: object = None
    times: dict[str, list[float]] = field(default_factory=lambda: {"encode": [], "decode": []})
    memory: dict[str, float] = field(default_factory=dict)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class PeakRss:
    """Peak resident-set growth over the `with` block, sampled by a thread (CPU memory has no allocator stats)."""

    def __enter__(self) -> PeakRss:
        self.base = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.base


def build_hybridcodec(device: torch.device) -> Subject:
    from hybridcodec.config import preset
    from hybridcodec.model import HybridCodec

    model = HybridCodec(config=preset("paper").model).to(device).eval()
    inference = count(model) - count(model.semantic_head)
    return Subject(
        name="HybridCodec (paper)",
        sample_rate=24000,
        params={"codec": inference},
        encode=lambda wav: model.encode(wav),
        decode=lambda codes: model.decode(codes),
        note=f"+{count(model.semantic_head) / 1e6:.2f}M training-only semantic decoder not counted",
    )


def build_dualcodec(device: torch.device) -> Subject:
    import hydra
    from hydra import compose, initialize_config_dir
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    from hybridbench.audio import resample

    conf_dir = str(importlib.resources.files("dualcodec") / "conf" / "model")
    with initialize_config_dir(version_base="1.3", config_dir=conf_dir):
        cfg = compose(config_name="dualcodec_25hz_16384_1024_12vq", overrides=[])
        model = hydra.utils.instantiate(cfg.model).to(device).eval()
    w2v = Wav2Vec2BertModel(Wav2Vec2BertConfig()).to(device).eval()
    extractor = SeamlessM4TFeatureExtractor()  # default settings = facebook/w2v-bert-2.0's preprocessor
    mean = torch.randn(1024, device=device)
    std = torch.rand(1024, device=device) + 0.5
    hop = math.prod(cfg.model.encoder_rates)

    @torch.no_grad()
    def encode(wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wav16 = resample(wav[:, 0].cpu(), 24000, 16000)
        inputs = extractor([w.numpy() for w in wav16], sampling_rate=16000, return_tensors="pt")
        inputs = {k: v.to(device) for k, v in inputs.items()}
        hidden = w2v(**inputs, output_hidden_states=True).hidden_states[17]  # [B, N50, 1024]
        feats = (hidden - mean) / std
        feats = F.avg_pool1d(feats.transpose(1, 2), kernel_size=2, stride=2)  # 50 -> 25 Hz, [B, 1024, F]
        frames = min(feats.shape[-1], wav.shape[-1] // hop)
        return model.encode(wav[..., : frames * hop], num_quantizers=12, semantic_repr=feats[..., :frames])

    @torch.no_grad()
    def decode(codes: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return model.decode_from_codes(*codes)

    return Subject(
        name="DualCodec 25 Hz",
        sample_rate=24000,
        params={"codec": count(model), "w2v-BERT 2.0": count(w2v)},
        encode=encode,
        decode=decode,
        note="encode includes w2v-BERT 2.0 feature extraction",
    )


def build_dac16(device: torch.device) -> Subject:
    import dac

    model = dac.DAC(
        encoder_dim=64, encoder_rates=[2, 4, 5, 8], decoder_dim=1536, decoder_rates=[8, 5, 4, 2],
        n_codebooks=12, codebook_size=1024, codebook_dim=8, quantizer_dropout=0.5, sample_rate=16000,
    ).to(device).eval()  # fmt: skip

    @torch.no_grad()
    def encode(wav: torch.Tensor) -> torch.Tensor:
        return model.encode(model.preprocess(wav, 16000))[1]

    @torch.no_grad()
    def decode(codes: torch.Tensor) -> torch.Tensor:
        return model.decode(model.quantizer.from_codes(codes)[0])

    return Subject(
        name="DAC 16 kHz", sample_rate=16000, params={"codec": count(model)}, encode=encode, decode=decode
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(subject: Subject, op: str, wav: torch.Tensor, device: torch.device, autocast) -> float:
    sync(device)
    start = time.perf_counter()
    with autocast():
        if op == "encode":
            subject.codes = subject.encode(wav)
        else:
            subject.decode(subject.codes)
    sync(device)
    return time.perf_counter() - start


def measure_memory(subject: Subject, op: str, wav: torch.Tensor, device: torch.device, autocast) -> float:
    """MiB: CUDA peak allocated during the call, or CPU peak RSS growth during the call."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        timed(subject, op, wav, device, autocast)
        return torch.cuda.max_memory_allocated(device) / 2**20
    with PeakRss() as peak:
        timed(subject, op, wav, device, autocast)
    return peak.growth / 2**20


def build_subjects(device: torch.device) -> list[Subject]:
    return [build_hybridcodec(device), build_dualcodec(device), build_dac16(device)]


def run_interleaved(
    subjects: list[Subject],
    *,
    seconds: float,
    batch: int,
    repeats: int,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """Warm up every subject (measuring its peak memory once per operation), then time `repeats` rounds."""
    inputs = {
        s.name: (0.1 * torch.randn(batch, 1, int(seconds * s.sample_rate))).to(device) for s in subjects
    }
    with torch.inference_mode():
        for s in subjects:
            for op in ("encode", "decode"):
                s.memory[op] = measure_memory(s, op, inputs[s.name], device, autocast)
        for _ in range(repeats):
            for op in ("encode", "decode"):
                for s in subjects:  # interleaved: each round times every model once
                    s.times[op].append(timed(s, op, inputs[s.name], device, autocast))


@dataclass(frozen=True)
class PaperSpeed:
    """Median RTFs per model ({name: {"encode", "decode", "encode+decode"}}) and the per-round spread of the
    HybridCodec/DualCodec encode+decode ratio (rounds are interleaved, so each round's ratio is a fair pair)."""

    rtf: dict[str, dict[str, float]]
    ratio_rounds: tuple[float, ...]  # DualCodec / HybridCodec encode+decode time, one per round
    seconds: float
    repeats: int
    device: str

    @property
    def speedup(self) -> float:
        """How many times faster HybridCodec encodes+decodes than DualCodec (median RTFs)."""
        return self.rtf[DUAL]["encode+decode"] / self.rtf[HYBRID]["encode+decode"]

    @property
    def encode_speedup(self) -> float:
        return self.rtf[DUAL]["encode"] / self.rtf[HYBRID]["encode"]


def summarize(
    subjects: list[Subject], *, seconds: float, batch: int, repeats: int, device: str
) -> PaperSpeed:
    audio = seconds * batch
    rtf = {}
    for s in subjects:
        enc, dec = (statistics.median(s.times[op]) / audio for op in ("encode", "decode"))
        rtf[s.name] = {"encode": enc, "decode": dec, "encode+decode": enc + dec}
    by_name = {s.name: s for s in subjects}
    h, d = by_name[HYBRID].times, by_name[DUAL].times
    rounds = tuple(
        (de + dd) / (he + hd)
        for he, hd, de, dd in zip(h["encode"], h["decode"], d["encode"], d["decode"], strict=True)
    )
    return PaperSpeed(rtf=rtf, ratio_rounds=rounds, seconds=seconds, repeats=repeats, device=device)


def measure_paper_speed(
    *, seconds: float = 4.0, repeats: int = 5, device: torch.device | None = None, threads: int | None = None
) -> PaperSpeed:
    """The paper-size measurement at batch 1, fp32 (what the leaderboard's speed claim reads)."""
    from hybridbench.timing import device_name

    device = device or torch.device("cpu")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    subjects = build_subjects(device)
    run_interleaved(subjects, seconds=seconds, batch=1, repeats=repeats, device=device)
    return summarize(subjects, seconds=seconds, batch=1, repeats=repeats, device=device_name(device))
