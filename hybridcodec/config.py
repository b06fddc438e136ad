"""Configurations as data: one frozen dataclass per concern, presets built from them, JSON round trip.

The model config travels inside every checkpoint (safetensors metadata), nanoGPT-style, so a checkpoint
rebuilds its own model with no code-side guessing. Presets:

- `paper`: the HybridCodec paper's model (arXiv 2606.06743): 24 kHz, hop 960 (25 Hz), 1x16384 semantic +
  11x1024 acoustic codebooks, 5 causal ConvNeXt blocks per stream. The paper states 159.62M parameters but
  not the widths; we take DAC's 24 kHz widths (encoder 64 -> latent 1024, decoder 1536) and ConvNeXt blocks of
  width 1024 with the usual 4x expansion (4096). That gives 159.51M parameters for what runs at inference
  (encoder, both streams, quantizers, decoder), 0.07 % from the paper's 159.62M, plus the training-only
  semantic head (5 ConvNeXt blocks, as DualCodec's semantic decoder, then a 1x1 conv to the 1024-d teacher space;
  see `semantic_head_layers`), which the paper does not count. tests/hybridcodec/test_presets.py asserts both.
- `mini`: 16 kHz, hop 640 (25 Hz), a few million parameters, trainable on a CPU in minutes per hundred steps.
- `tiny`: 16 kHz, 25 Hz, tens of thousands of parameters, for unit tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from hybridcodec.errors import HybridcodecError

VARIANTS = ("hybrid", "dac", "dac-distill", "dualcodec")
# Variants whose training uses a teacher, and the one that also needs it to encode.
DISTILLED_VARIANTS = ("hybrid", "dac-distill", "dualcodec")
TEACHER_AT_INFERENCE = ("dualcodec",)
# Variants whose semantic head (`ModelConfig.semantic_head_layers`) maps a codebook to the teacher space.
SEMANTIC_HEAD_VARIANTS = ("hybrid", "dac-distill")
# The state-dict prefix of the training-only semantic head: what a warm start may replace, and what parameter
# counts of the model that runs at inference leave out. The head is named `semantic_head` in the config too,
# rather than renaming the weights to `semantic_decoder`: every shipped checkpoint stores `semantic_head.*`, and
# `semantic_decoder` is already DualCodec's inference-time layer (HybridCodec.semantic_decoder).
SEMANTIC_HEAD_KEYS = "semantic_head."
SEMANTIC_DECODER_KEYS = SEMANTIC_HEAD_KEYS  # the name hybridcodec.adapter imports


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one codec. All widths are channels; rates multiply to the hop length."""

    variant: str = "hybrid"
    sample_rate: int = 24000
    encoder_dim: int = 64  # first conv width; doubles at every downsampling block (DAC's layout)
    encoder_rates: tuple[int, ...] = (4, 5, 6, 8)
    latent_dim: int = 1024  # the common latent
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 6, 5, 4)
    convnext_dim: int = 1024
    convnext_intermediate: int = 4096
    convnext_layers: int = 5  # per stream
    semantic_codebook_size: int = 16384
    acoustic_codebook_size: int = 1024
    n_acoustic_codebooks: int = 11
    codebook_dim: int = 8  # factorized codes (DAC): nearest neighbour in this low-dimensional space
    quantizer_dropout: float = 0.5  # fraction of a batch trained at a random depth
    teacher_dim: int = 1024  # the teacher's feature size (set from the teacher at training time)
    teacher: str = ""  # the teacher's name, recorded for provenance (and needed at inference by `dualcodec`)
    # The semantic head of `hybrid` and `dac-distill` (training only): this many causal ConvNeXt blocks on the
    # quantized RVQ-1 latent, then a 1x1 conv to the teacher space. 0 = the 1x1 conv alone, which is a rank-8
    # linear map of the 8-d factorized code: it cannot fit more of the teacher than its top 8 principal
    # components, so the distillation loss sits at that floor and keeps pulling on the codebook (what the minis
    # trained to step 4,000 with 0 showed). 0 is also what checkpoints from before this field hold. `dualcodec`
    # distills from its own ConvNeXt semantic decoder and ignores this. Stored configs may spell it
    # `semantic_decoder_layers` (see _upgraded).
    semantic_head_layers: int = 0
    # How the teacher's raw features become the distillation target (hybridcodec.target; "raw" = unprocessed, as
    # checkpoints from before this field were trained), and how many window positions its statistics hold. The
    # statistics are buffers of the model (`teacher_target.*`), fitted on the training corpus.
    teacher_target: str = "raw"
    teacher_positions: int = 0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise HybridcodecError(
                f"unknown variant {self.variant!r}", f"choose one of {', '.join(VARIANTS)}"
            )
        if math.prod(self.encoder_rates) != math.prod(self.decoder_rates):
            raise HybridcodecError(
                f"encoder rates {self.encoder_rates} and decoder rates {self.decoder_rates} differ in product"
            )
        if self.sample_rate % self.hop_length:
            raise HybridcodecError(
                f"sample rate {self.sample_rate} is not a multiple of hop {self.hop_length}"
            )

    @property
    def hop_length(self) -> int:
        return math.prod(self.encoder_rates)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        """Sizes of all codebooks in code order. Every variant has the same sizes, so the same bitrate per depth:
        the `dac` baselines get a 16384-entry first codebook too (the paper retrained them at equal bitrate)."""
        return (self.semantic_codebook_size,) + (self.acoustic_codebook_size,) * self.n_acoustic_codebooks

    @property
    def num_codebooks(self) -> int:
        return 1 + self.n_acoustic_codebooks

    @property
    def uses_teacher(self) -> bool:
        return self.variant in DISTILLED_VARIANTS

    @property
    def needs_teacher_at_inference(self) -> bool:
        return self.variant in TEACHER_AT_INFERENCE

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return from_dict(cls, json.loads(text))


@dataclass(frozen=True)
class LossConfig:
    """Generator loss weights (the paper's, as in DAC: mel 15, adversarial 1, feature matching 2, commitment
    0.25, distillation 15; codebook 1.0 as in DAC/DualCodec's training configs) and the mel-loss scales."""

    mel: float = 15.0
    adversarial: float = 1.0
    feature_matching: float = 2.0
    commitment: float = 0.25
    codebook: float = 1.0
    distillation: float = 15.0
    # The distillation loss's form (nn/losses.py DISTILLATION_FORMS): "mse" on the (standardised) target, as
    # DualCodec; "d-axis", SpeechTokenizer's per-dimension cosine over time; "cosine", per frame over dimensions.
    distillation_form: str = "mse"
    mel_windows: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
    mel_bins: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """MPD (HiFi-GAN periods) + multi-scale complex-STFT discriminator. `width` scales channels: 1.0 is DAC's."""

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    fft_sizes: tuple[int, ...] = (2048, 1024, 512)
    width: float = 1.0


@dataclass(frozen=True)
class Schedule:
    """The generator's learning rate at every update, as one value: the run's config holds all of it, so a
    resumed or warm-started run continues it exactly and a checkpoint says what it was trained under.

    A linear warm-up over the first `warmup` updates, then DAC's exponential decay by `gamma` per update, and the
    `anneals`, each (start, steps): from update `start` the rate falls linearly to 0 over `steps` updates. DAC's
    decay is set for 400k updates and barely moves in a short run, where the weights then keep jumping around a
    plateau; an anneal settles them. Every anneal but the last ended in a re-warm (the rate went straight back
    to the decay curve: a warm restart, so a run annealed too early can train on and anneal again later); after
    the last one the rate stays 0.
    """

    lr: float = 1e-4
    warmup: int = 0
    gamma: float = 0.999996
    anneals: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        # JSON gives lists; keep the field hashable and comparable with what the CLI builds.
        object.__setattr__(self, "anneals", tuple((int(a), int(n)) for a, n in self.anneals))

    @property
    def anneal(self) -> tuple[int, int] | None:
        """(start, steps) of the current (last) anneal, or None when the run has none."""
        return self.anneals[-1] if self.anneals else None

    def lr_at(self, update: int) -> float:
        """The learning rate at update `update` (0-based), a pure function of the step."""
        lr = self.lr * self.gamma**update
        if update < self.warmup:
            lr *= (update + 1) / self.warmup  # the first update already moves: no wasted step at 0
        for start, steps in self.anneals:
            if start <= update < start + steps:
                return lr * (1.0 - (update - start) / steps)
        if self.anneals and update >= sum(self.anneals[-1]):
            return 0.0
        return lr

    def with_anneal(
        self,
        asked: tuple[int, int] | None,
        *,
        rewarm: bool = False,
        step: int,
        target: int,
        run: str = "this run",
    ) -> Schedule:
        """This schedule with the anneals a run now at `step`, training to `target`, follows: the ones it already
        has, plus the newly `asked` one. One rule for one run and for the four replicate runs alike. An anneal is
        asked for once and then kept; once it has begun it can neither change, start in the past, last under 1
        step, nor be trained past (where the learning rate has reached 0, more steps would change nothing).
        Until it begins it may be moved. The one way on past it is a re-warm (`rewarm`): once the last anneal has
        finished, a new one may be asked, and the learning rate goes back up to its schedule until that one
        starts."""
        if rewarm and asked is None:
            raise HybridcodecError(
                "--rewarm needs the next anneal", "pass --anneal-start and --anneal-steps with it"
            )
        anneals = self.anneals
        if asked is not None and tuple(asked) != self.anneal:
            anneals = self._add_anneal(tuple(asked), rewarm=rewarm, step=step, run=run)
        if anneals and target > sum(anneals[-1]):
            end = sum(anneals[-1])
            raise HybridcodecError(
                f"--steps {target} goes past step {end}, where the annealed learning rate reaches 0",
                f"pass --steps {end} or less, or --rewarm with a later anneal once step {end} is reached",
            )
        return replace(self, anneals=anneals)

    def _add_anneal(
        self, new: tuple[int, int], *, rewarm: bool, step: int, run: str
    ) -> tuple[tuple[int, int], ...]:
        last = self.anneal
        # An anneal that has not begun yet (no update has followed it) may still be moved: nothing changes.
        moved = last is not None and step <= last[0]
        if last is not None and not moved:
            if not rewarm:
                hint = f"pass --anneal-start {last[0]} --anneal-steps {last[1]}, or neither"
                if step >= sum(last):
                    hint += ", or add --rewarm to raise the learning rate again and anneal anew"
                raise HybridcodecError(
                    f"{run} already anneals from step {last[0]} over {last[1]} steps", hint
                )
            if step < sum(last):
                raise HybridcodecError(
                    f"--rewarm: {run} is still annealing (its learning rate reaches 0 at step {sum(last)})",
                    f"train to step {sum(last)} first, then re-warm",
                )
        if new[1] < 1 or new[0] < step:
            raise HybridcodecError(
                f"--anneal-start {new[0]} --anneal-steps {new[1]}: the anneal must start at or after the "
                f"current step ({step}) and last at least 1 step",
                f"e.g. --anneal-start {step} --anneal-steps 2000",
            )
        return (*self.anneals[:-1], new) if moved else (*self.anneals, new)

    def describe_anneals(self) -> str:
        """How the anneals read in a recipe: "annealed to 0 over steps 17000-18500, re-warmed and annealed
        again over steps 23500-26000"; "" when it has none."""
        spans = [f"steps {s}-{s + n}" for s, n in self.anneals]
        return "annealed to 0 over " + ", re-warmed and annealed again over ".join(spans) if spans else ""


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with DAC's defaults; the generator's learning rate follows `schedule`, the discriminator's starts at
    the same rate and decays by the same `gamma` per update of its own."""

    schedule: Schedule = field(default_factory=Schedule)
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.0
    grad_clip_generator: float = 1e3
    grad_clip_discriminator: float = 10.0


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run besides the data paths."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 8  # per process
    segment_seconds: float = 3.0
    seed: int = 0
    adversarial_start: int = 0  # steps of reconstruction-only warm-up before the GAN losses switch on
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 1000

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return from_dict(cls, json.loads(text))


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a (nested) config dataclass from JSON data; lists become tuples, unknown keys are an error. Data
    stored under older field names (every checkpoint's config) reads as today's (`_upgraded`)."""
    data = _upgraded(cls, data)
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise HybridcodecError(
            f"unknown {cls.__name__} fields: {sorted(unknown)}", "the file is from another version"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        sub = _NESTED.get((cls, name))
        if sub is not None:
            kwargs[name] = from_dict(sub, value)
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


_NESTED = {
    (TrainConfig, "model"): ModelConfig,
    (TrainConfig, "loss"): LossConfig,
    (TrainConfig, "discriminator"): DiscriminatorConfig,
    (TrainConfig, "optim"): OptimConfig,
    (OptimConfig, "schedule"): Schedule,
}

# OptimConfig fields that stored configs hold in place of `schedule`.
_OLD_SCHEDULE_FIELDS = ("lr", "lr_gamma", "anneal_start", "anneal_steps", "earlier_anneals")


def _upgraded(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the older names of stored configs (and so of shipped checkpoints) mapped to today's fields."""
    if cls is ModelConfig and "semantic_decoder_layers" in data and "semantic_head_layers" not in data:
        rest = {k: v for k, v in data.items() if k != "semantic_decoder_layers"}
        return rest | {"semantic_head_layers": data["semantic_decoder_layers"]}
    old = [k for k in _OLD_SCHEDULE_FIELDS if k in data]
    if cls is OptimConfig and old and "schedule" not in data:
        rest = {k: v for k, v in data.items() if k not in old}
        start = data.get("anneal_start")
        current = [] if start is None else [[start, data.get("anneal_steps", 0)]]
        schedule = {"anneals": [*data.get("earlier_anneals", ()), *current]}
        schedule |= {new: data[k] for k, new in (("lr", "lr"), ("lr_gamma", "gamma")) if k in data}
        return rest | {"schedule": schedule}
    return data


def _paper() -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(semantic_head_layers=5),
        loss=LossConfig(),
        discriminator=DiscriminatorConfig(),
        batch_size=8,  # per GPU; the paper trained on 4 GPUs
        segment_seconds=3.0,
        sample_every=2000,
        checkpoint_every=5000,
    )


def _mini() -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(
            sample_rate=16000,
            encoder_dim=16,
            encoder_rates=(4, 4, 5, 8),
            latent_dim=256,
            decoder_dim=256,
            decoder_rates=(8, 5, 4, 4),
            convnext_dim=256,
            convnext_intermediate=512,
            convnext_layers=2,
            semantic_codebook_size=4096,
            acoustic_codebook_size=1024,
            n_acoustic_codebooks=11,  # 12 codebooks like the paper, so depths 1..12 mean the same thing
            semantic_head_layers=2,  # as many as each stream
        ),
        # 16 kHz: no 320-bin mel at 2048 (its low bands would be empty filters).
        loss=LossConfig(mel_windows=(32, 64, 128, 256, 512, 1024), mel_bins=(5, 10, 20, 40, 80, 160)),
        discriminator=DiscriminatorConfig(periods=(2, 3, 5, 7, 11), fft_sizes=(1024, 512, 256), width=0.125),
        optim=OptimConfig(schedule=Schedule(lr=3e-4)),
        batch_size=8,
        segment_seconds=1.0,
        sample_every=100,
        checkpoint_every=100,
    )


def _tiny() -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(
            sample_rate=16000,
            encoder_dim=4,
            encoder_rates=(4, 4, 5, 8),
            latent_dim=32,
            decoder_dim=32,
            decoder_rates=(8, 5, 4, 4),
            convnext_dim=32,
            convnext_intermediate=64,
            convnext_layers=1,
            semantic_codebook_size=64,
            acoustic_codebook_size=32,
            n_acoustic_codebooks=3,
            codebook_dim=4,
            semantic_head_layers=1,
        ),
        loss=LossConfig(mel_windows=(64, 256, 1024), mel_bins=(10, 40, 80)),
        discriminator=DiscriminatorConfig(periods=(2, 3), fft_sizes=(256,), width=1 / 32),
        optim=OptimConfig(
            schedule=Schedule(lr=3e-3)
        ),  # high, so that 30 test steps show learning beyond noise
        batch_size=4,
        segment_seconds=0.48,
        log_every=1,
        sample_every=10,
        checkpoint_every=10,
    )


PRESETS = {"paper": _paper, "mini": _mini, "tiny": _tiny}


def preset(name: str, *, variant: str = "hybrid", **model_overrides: Any) -> TrainConfig:
    """The named preset with `variant` (and any model fields) set."""
    if name not in PRESETS:
        raise HybridcodecError(f"unknown preset {name!r}", f"choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]()
    return replace(cfg, model=replace(cfg.model, variant=variant, **model_overrides))
