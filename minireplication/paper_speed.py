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

Inference optimisations (`OPTIMISATIONS`, `optimise`, `measure_optimisations`), applied alike to every model:
`fold-weight-norm` (every weight-normalised layer's weight computed once and stored plainly: all three codecs use
DAC-style `torch.nn.utils.weight_norm` hooks, w2v-BERT 2.0 has none), `compile` (`torch.compile` of the encode
and decode callables, compiled by untimed warm-up calls), `bf16` (bf16 autocast around both callables; on the CPU
this is CPU autocast, labelled so) and `none`. Each is measured on its own against `none`, in interleaved rounds
on the same input, with its effect on the output: code agreement of encode, and max abs / SNR of the audio
decoded from the same codes, against fp32 `none`.
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

from hybridbench.codecs.weight_norm import fold_weight_norm
from hybridbench.timing import device_name

HYBRID, DUAL, DAC16 = "HybridCodec (paper)", "DualCodec 25 Hz", "DAC 16 kHz"


@dataclass
class Subject:
    name: str
    sample_rate: int
    params: dict[str, int]  # label -> parameter count of what runs at inference
    encode: Callable[[torch.Tensor], object]
    decode: Callable[[object], torch.Tensor]
    note: str = ""
    modules: dict[str, torch.nn.Module] = field(default_factory=dict)  # what runs at inference, by label
    optimisation: str = "none"
    applied: str = ""  # what `optimise` did, in words (e.g. how many layers it folded)
    warmups: int = 0  # untimed calls per operation before the memory call (compilation happens there)
    warmup_s: dict[str, float] = field(default_factory=dict)
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


def build_hybridcodec(device: torch.device, *, preset_name: str = "paper") -> Subject:
    from hybridcodec.config import preset
    from hybridcodec.model import HybridCodec

    model = HybridCodec(config=preset(preset_name).model).to(device).eval()
    inference = count(model) - count(model.semantic_head)
    return Subject(
        name="HybridCodec (paper)",
        sample_rate=model.config.sample_rate,
        params={"codec": inference},
        encode=lambda wav: model.encode(wav),
        decode=lambda codes: model.decode(codes),
        note=f"+{count(model.semantic_head) / 1e6:.2f}M training-only semantic decoder not counted",
        modules={"codec": model},
    )


def build_dualcodec(device: torch.device) -> Subject:
    import hydra
    from hydra import compose, initialize_config_dir
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    from hybridbench.audio import resample
    from hybridcodec.nn.dualcodec_layers import dualcodec_package

    dualcodec_package()  # the model and its configs, not the package's download stack (see there)
    conf_dir = str(importlib.resources.files("dualcodec") / "conf" / "model")
    with initialize_config_dir(version_base="1.3", config_dir=conf_dir):
        cfg = compose(config_name="dualcodec_25hz_16384_1024_12vq", overrides=[])
        model = hydra.utils.instantiate(cfg.model).to(device).eval()
    w2v = Wav2Vec2BertModel(Wav2Vec2BertConfig()).to(device).eval()
    extractor = SeamlessM4TFeatureExtractor()  # default settings = facebook/w2v-bert-2.0's preprocessor
    mean = torch.randn(1024, device=device)
    std = torch.rand(1024, device=device) + 0.5
    hop = math.prod(cfg.model.encoder_rates)

    @torch.compiler.disable  # numpy feature extraction on the CPU: nothing for torch.compile to trace
    def features(wav: torch.Tensor) -> dict[str, torch.Tensor]:
        wav16 = resample(wav[:, 0].float().cpu(), 24000, 16000)
        inputs = extractor([w.numpy() for w in wav16], sampling_rate=16000, return_tensors="pt")
        return {k: v.to(device) for k, v in inputs.items()}

    @torch.no_grad()
    def encode(wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = features(wav)
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
        modules={"codec": model, "w2v-BERT 2.0": w2v},
    )


DAC16_DIMS = {"encoder_dim": 64, "decoder_dim": 1536}  # the published 16 kHz model's widths


def build_dac16(device: torch.device, *, dims: dict[str, int] = DAC16_DIMS) -> Subject:
    import dac

    model = dac.DAC(
        **dims, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2],
        n_codebooks=12, codebook_size=1024, codebook_dim=8, quantizer_dropout=0.5, sample_rate=16000,
    ).to(device).eval()  # fmt: skip

    @torch.no_grad()
    def encode(wav: torch.Tensor) -> torch.Tensor:
        return model.encode(model.preprocess(wav, 16000))[1]

    @torch.no_grad()
    def decode(codes: torch.Tensor) -> torch.Tensor:
        return model.decode(model.quantizer.from_codes(codes)[0])

    return Subject(
        name="DAC 16 kHz",
        sample_rate=16000,
        params={"codec": count(model)},
        encode=encode,
        decode=decode,
        modules={"codec": model},
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


def build_subjects(device: torch.device, optimisation: str = "none") -> list[Subject]:
    """The three paper-size models, each with `optimisation` applied. Seed first for identical weights."""
    subjects = [build_hybridcodec(device), build_dualcodec(device), build_dac16(device)]
    for s in subjects:
        optimise(s, optimisation, device)
    return subjects


def make_inputs(
    subjects: list[Subject], *, seconds: float, batch: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Noise per model name (subjects of the same model share one input)."""
    rates = {s.name: s.sample_rate for s in subjects}
    return {name: (0.1 * torch.randn(batch, 1, int(seconds * sr))).to(device) for name, sr in rates.items()}


def run_interleaved(
    subjects: list[Subject],
    *,
    seconds: float,
    batch: int,
    repeats: int,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
    inputs: dict[str, torch.Tensor] | None = None,
) -> None:
    """Warm up every subject (its `warmups` untimed calls, then one call measuring its peak memory per
    operation), then time `repeats` rounds."""
    inputs = inputs or make_inputs(subjects, seconds=seconds, batch=batch, device=device)
    with torch.inference_mode():
        for s in subjects:
            for op in ("encode", "decode"):
                s.warmup_s[op] = sum(timed(s, op, inputs[s.name], device, autocast) for _ in range(s.warmups))
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
    rtf = {s.name: subject_rtf(s, seconds * batch) for s in subjects}
    by_name = {s.name: s for s in subjects}
    h, d = by_name[HYBRID].times, by_name[DUAL].times
    rounds = tuple(
        (de + dd) / (he + hd)
        for he, hd, de, dd in zip(h["encode"], h["decode"], d["encode"], d["decode"], strict=True)
    )
    return PaperSpeed(rtf=rtf, ratio_rounds=rounds, seconds=seconds, repeats=repeats, device=device)


def subject_rtf(subject: Subject, audio_seconds: float) -> dict[str, float]:
    """Median encode, decode and encode+decode RTF of one subject's timed rounds."""
    enc, dec = (statistics.median(subject.times[op]) / audio_seconds for op in ("encode", "decode"))
    return {"encode": enc, "decode": dec, "encode+decode": enc + dec}


def measure_subjects(
    device: torch.device, *, batch: int, seconds: float, repeats: int
) -> tuple[PaperSpeed, list[Subject]]:
    """Build the three models (seeded), time them in interleaved rounds, and keep the subjects (their
    parameters and memory) beside the summary."""
    torch.manual_seed(0)
    subjects = build_subjects(device)
    run_interleaved(subjects, seconds=seconds, batch=batch, repeats=repeats, device=device)
    speed = summarize(subjects, seconds=seconds, batch=batch, repeats=repeats, device=device_name(device))
    return speed, subjects


def measure_paper_speed(
    *, seconds: float = 4.0, repeats: int = 5, device: torch.device | None = None, threads: int | None = None
) -> PaperSpeed:
    """The paper-size measurement at batch 1, fp32 (what the leaderboard's speed claim reads)."""
    if threads:
        torch.set_num_threads(threads)
    return measure_subjects(device or torch.device("cpu"), batch=1, seconds=seconds, repeats=repeats)[0]


# ---- inference optimisations ------------------------------------------------------------------------------------

OPTIMISATIONS = ("none", "fold-weight-norm", "compile", "bf16")


def bf16_autocast(fn: Callable, device: torch.device) -> Callable:
    def run(x: object) -> object:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            return fn(x)

    return run


def compiled(fn: Callable) -> Callable:
    """`torch.compile(fn)`, run under `no_grad` instead of `inference_mode`: in torch 2.11 a graph traced under
    inference mode fails its own guards on numpy scalars (DAC's `hop_length` is `np.prod` of its rates)."""
    graph = torch.compile(fn)

    def run(x: object) -> object:
        with torch.inference_mode(False), torch.no_grad():
            return graph(x)

    return run


def optimise(subject: Subject, optimisation: str, device: torch.device) -> Subject:
    """Apply one optimisation to a subject in place, the same way for every model."""
    if optimisation not in OPTIMISATIONS:
        raise ValueError(f"unknown optimisation {optimisation!r}: choose from {', '.join(OPTIMISATIONS)}")
    if optimisation == "fold-weight-norm":
        folded = {label: fold_weight_norm(m) for label, m in subject.modules.items()}
        subject.applied = "folded " + ", ".join(f"{n} in {label}" for label, n in folded.items())
    elif optimisation == "compile":
        # The callables, not the modules: encode/decode are methods (not `forward`) that call many submodules.
        subject.encode, subject.decode = compiled(subject.encode), compiled(subject.decode)
        subject.warmups = 1  # the first call compiles; the memory call after it checks nothing recompiles
    elif optimisation == "bf16":
        subject.encode = bf16_autocast(subject.encode, device)
        subject.decode = bf16_autocast(subject.decode, device)
        subject.applied = f"bf16 autocast on {device.type}" + (
            " (CPU autocast)" if device.type == "cpu" else ""
        )
    subject.optimisation = optimisation
    return subject


def _tensors(x: object) -> list[torch.Tensor]:
    return list(x) if isinstance(x, tuple | list) else [x]


def code_agreement(reference: object, other: object) -> float:
    """Share of code entries equal between two encodes (tensors, or tuples of them like DualCodec's)."""
    pairs = list(zip(_tensors(reference), _tensors(other), strict=True))
    equal = sum(int((a == b).sum()) for a, b in pairs)
    return equal / sum(a.numel() for a, _ in pairs)


def audio_difference(reference: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    """(max abs difference, SNR in dB of `other` against `reference`); SNR is inf when they are equal."""
    ref, diff = reference.float(), other.float() - reference.float()
    noise = float(diff.pow(2).sum())
    snr = math.inf if noise == 0 else 10 * math.log10(float(ref.pow(2).sum()) / noise)
    return float(diff.abs().max()), snr


@dataclass(frozen=True)
class OptimisationResult:
    """One optimisation on one model: median RTFs of `none` and of the optimisation in the same interleaved
    rounds, and the optimisation's outputs against fp32 `none` on the same input / the same codes."""

    optimisation: str
    name: str
    before: dict[str, float]  # {"encode", "decode", "encode+decode"} RTF
    after: dict[str, float]
    code_agreement: float
    max_abs: float
    snr_db: float
    warmup_s: float  # untimed warm-up before the first measured call (compile time for `compile`)
    applied: str
    batch: int

    @property
    def speedup(self) -> float:
        return self.before["encode+decode"] / self.after["encode+decode"]


def _reference(
    subjects: list[Subject], inputs: dict[str, torch.Tensor]
) -> dict[str, tuple[object, torch.Tensor]]:
    """fp32 `none` codes and the audio decoded from them, per model."""
    with torch.inference_mode():
        return {s.name: (codes := s.encode(inputs[s.name]), s.decode(codes)) for s in subjects}


def measure_optimisations(
    optimisations: list[str],
    *,
    device: torch.device,
    seconds: float = 2.0,
    batch: int = 1,
    repeats: int = 3,
    build: Callable[[torch.device], list[Subject]] = build_subjects,
) -> list[OptimisationResult]:
    """Each optimisation on its own against `none`: the same seeded weights built twice (so outputs are
    comparable), timed in interleaved rounds on one input. `none` in the list is an A/A control: its speed-up
    shows the timing noise and its outputs must equal the reference exactly."""
    torch.manual_seed(0)
    baseline = build(device)
    inputs = make_inputs(baseline, seconds=seconds, batch=batch, device=device)
    reference = _reference(baseline, inputs)
    results = []
    for optimisation in optimisations:
        torch.manual_seed(0)
        trial = [optimise(s, optimisation, device) for s in build(device)]
        for s in baseline:
            s.times = {"encode": [], "decode": []}
        pairs = [s for pair in zip(baseline, trial, strict=True) for s in pair]  # none, optimised, next model
        run_interleaved(pairs, seconds=seconds, batch=batch, repeats=repeats, device=device, inputs=inputs)
        results += [
            _compare(b, t, reference[b.name], optimisation, seconds * batch, batch)
            for b, t in zip(baseline, trial, strict=True)
        ]
        del trial  # one optimised copy of the models at a time (w2v-BERT alone is 2.3 GB)
    return results


def _compare(
    base: Subject,
    trial: Subject,
    reference: tuple[object, torch.Tensor],
    optimisation: str,
    audio: float,
    batch: int,
) -> OptimisationResult:
    codes, wav = reference
    with torch.inference_mode():
        decoded = trial.decode(codes)  # the same codes, so only the decoder's arithmetic differs
    max_abs, snr = audio_difference(wav, decoded)
    return OptimisationResult(
        optimisation=optimisation,
        name=base.name,
        before=subject_rtf(base, audio),
        after=subject_rtf(trial, audio),
        code_agreement=code_agreement(codes, trial.codes),  # trial.codes: its encode of the same input
        max_abs=max_abs,
        snr_db=snr,
        warmup_s=sum(trial.warmup_s.values()),
        applied=trial.applied,
        batch=batch,
    )
