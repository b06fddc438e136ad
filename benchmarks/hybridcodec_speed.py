"""Speed and memory of HybridCodec (`paper` preset) beside DualCodec 25 Hz and DAC 16 kHz, in one run.

    python benchmarks/hybridcodec_speed.py [--seconds 4] [--repeats 3] [--batch 1] [--device cuda] [--threads 2]

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

Timing: one warm-up call per model and operation, then `--repeats` rounds in which the models take turns
(interleaved, so a noisy machine slows all of them alike); the device is synchronised before every clock read.
RTF = median seconds per call / seconds of audio in the batch (lower is faster). Precision: fp32 unless
`--precision bf16` (autocast on CUDA). Memory: on CUDA, `torch.cuda.max_memory_allocated` during the call; on the
CPU, the peak resident-set growth during the call (sampled every 2 ms) beside the weights' size.
"""

from __future__ import annotations

import argparse
import importlib.resources
import math
import platform
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="audio length per item")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
    else:
        device_name = f"CPU {platform.processor() or platform.machine()}, {args.threads} torch threads"
    use_bf16 = args.precision == "bf16"

    def autocast():
        if not use_bf16:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)

    subjects = [build_hybridcodec(device), build_dualcodec(device), build_dac16(device)]
    inputs = {
        s.name: (0.1 * torch.randn(args.batch, 1, int(args.seconds * s.sample_rate))).to(device)
        for s in subjects
    }
    with torch.inference_mode():
        for s in subjects:  # warm-up (also measures peak memory, once per operation)
            for op in ("encode", "decode"):
                s.memory[op] = measure_memory(s, op, inputs[s.name], device, autocast)
        for _ in range(args.repeats):
            for op in ("encode", "decode"):
                for s in subjects:  # interleaved: each round times every model once
                    s.times[op].append(timed(s, op, inputs[s.name], device, autocast))

    audio_seconds = args.seconds * args.batch
    print(
        f"device: {device_name} | torch {torch.__version__} | precision {args.precision} | batch {args.batch}"
    )
    print(
        f"audio: {args.seconds:g} s per item (random noise; speed does not depend on content), random weights"
    )
    print(
        f"timing: 1 warm-up, median of {args.repeats} interleaved repeats, device synchronised; RTF = s / audio s"
    )
    mem = "peak alloc MiB" if device.type == "cuda" else "peak RSS growth MiB"
    header = f"| model | params (M) | encode RTF | decode RTF | enc+dec RTF | encode {mem} | decode {mem} |"
    print(header)
    print("|" + "---|" * 7)
    rtf: dict[str, float] = {}
    for s in subjects:
        enc = statistics.median(s.times["encode"]) / audio_seconds
        dec = statistics.median(s.times["decode"]) / audio_seconds
        rtf[s.name] = enc + dec
        params = " + ".join(f"{v / 1e6:.2f} {k}" for k, v in s.params.items())
        print(
            f"| {s.name} | {params} | {enc:.4f} | {dec:.4f} | {enc + dec:.4f} | "
            f"{s.memory['encode']:.0f} | {s.memory['decode']:.0f} |"
        )
    for s in subjects:
        if s.note:
            print(f"note: {s.name}: {s.note}")
    hyb, dual = rtf["HybridCodec (paper)"], rtf["DualCodec 25 Hz"]
    print(
        f"HybridCodec / DualCodec RTF ratio (enc+dec): {hyb / dual:.3f} -> HybridCodec is {dual / hyb:.2f}x faster"
    )
    enc_ratio = statistics.median(subjects[1].times["encode"]) / statistics.median(
        subjects[0].times["encode"]
    )
    print(f"encode only: HybridCodec is {enc_ratio:.2f}x faster than DualCodec (w2v-BERT included)")


if __name__ == "__main__":
    main()
