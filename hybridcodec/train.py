"""The trainer: one script for one CPU, one GPU, or many GPUs/nodes under torchrun (DDP).

Each step: draw the step's crops (a function of seed, step and rank), run the generator once, update the
discriminators on the detached reconstruction (LSGAN), then the generator on
    mel x15 + adversarial x1 + feature matching x2 + commitment x0.25 + codebook x1 + distillation x15
(weights from `LossConfig`), with AdamW, the learning rate of `Schedule` (warm-up, per-step exponential decay,
linear anneals to 0 with re-warms between them) and gradient-norm clipping. On a GPU
the forward passes run under autocast (bf16 where supported, else fp16 with a GradScaler); CPU runs fp32.
Checkpoints (see checkpoint.py) hold every RNG state of every rank, so `resume` continues bit for bit.

A new run can also start from another run's model file (`init_from`, e.g. a shipped fp16 checkpoint): a warm
start. It takes that file's config, teacher and step, so the crops, learning rate and step count go on where
they stopped, but the optimizer moments, the discriminator and the RNG states start afresh: not bit-exact, and
recorded as `warm_start` in every later checkpoint. This is how a long training outlives the machine it ran on
when only the model files survive (the replication ships them).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import math
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from hybridbench.hashing import sha256_file
from hybridcodec import checkpoint as ckpt
from hybridcodec import target as target_mod
from hybridcodec.config import SEMANTIC_HEAD_KEYS, SEMANTIC_HEAD_VARIANTS, TrainConfig
from hybridcodec.data import CropSampler, FeatureStore, list_audio
from hybridcodec.errors import HybridcodecError
from hybridcodec.logs import RunLogger
from hybridcodec.model import HybridCodec, with_semantic_head
from hybridcodec.nn.discriminators import Discriminator
from hybridcodec.nn.losses import (
    MultiScaleMelLoss,
    discriminator_loss,
    distillation_loss,
    explained_variance,
    generator_losses,
    split_real_fake,
)
from hybridcodec.target import TeacherTarget
from hybridcodec.teachers import TeacherSpec, make_teacher


@dataclass(frozen=True)
class RunOptions:
    """What a run needs besides its TrainConfig."""

    out: Path
    data: tuple[str, ...]
    steps: int  # total number of updates (a resumed run continues up to this)
    teacher: TeacherSpec | None = None
    resume: bool = False
    device: str | None = None  # default: cuda:LOCAL_RANK when available, else cpu
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    feature_cache: Path | None = None
    deterministic: bool = False
    keep: int = 3  # checkpoint folders kept
    progress: bool = True
    valid: tuple[str, ...] = ()  # held-out folders/manifests: losses on fixed crops at every checkpoint
    init_from: Path | None = None  # warm start a new run from this model file (its config, teacher and step)
    # With init_from: give the warm-started model a fresh semantic head of this many ConvNeXt blocks (training
    # only, so nothing the model encodes changes); None keeps the file's.
    semantic_head_layers: int | None = None
    # (start, steps): anneal the generator's learning rate to 0 from update `start` over `steps` updates
    # (Schedule). Allowed on a resumed or warm-started run; stored in its config from then on.
    anneal: tuple[int, int] | None = None
    # With anneal, on a run whose last anneal has finished: raise the learning rate back to its schedule and
    # anneal again as `anneal` says (a warm restart; the earlier anneal stays in the config).
    rewarm: bool = False
    # With init_from: "dac-distill" turns a `dac` model into the distilled baseline (the same layers plus a fresh
    # semantic head; the distillation target then needs `teacher`), and a distillation loss form of its own.
    variant: str | None = None
    distillation_form: str | None = None


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | None) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank=rank, world=world, device=dev)


def _barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision in ("bf16", "fp16"):
        return torch.bfloat16 if precision == "bf16" else torch.float16
    raise HybridcodecError(f"unknown precision {precision!r}", "choose auto, fp32, bf16 or fp16")


def data_fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f}|{st.st_size}\n".encode())
    return h.hexdigest()


def manifest_hashes(sources: tuple[str, ...]) -> dict[str, str]:
    """sha256 of every manifest file among the data sources (folders have no single file to hash)."""
    return {str(s): sha256_file(Path(s)) for s in sources if Path(s).is_file()}


def describe_device(device: torch.device, world: int) -> str:
    """What trained the model, for the checkpoint: GPU name or CPU thread count, and the process count."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        n = torch.get_num_threads()
        what = f"cpu ({n} thread{'s' if n > 1 else ''})"
    return f"{what} x {world} processes" if world > 1 else what


def rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    random.setstate(state["python"])


VALID_CROPS = 64  # fixed held-out crops scored at every checkpoint


class Trainer:
    """Builds everything a run needs, then `fit()` runs it to `options.steps`."""

    def __init__(self, *, config: TrainConfig | None, options: RunOptions):
        self.options = options
        self.d = setup_distributed(options.device)
        self._determinism()
        self.files = list_audio(list(options.data))
        self.data_sha = data_fingerprint(self.files)
        model, self.config, self.teacher_spec, state = self._start(config)
        self.start_step = state["step"] if state else (self.warm_start or {}).get("step", 0)
        self._follow_anneals()
        model = self._teacher(model)
        self._samplers()
        self._models(model)
        self._optimisers()
        self._restore(state)
        self._wrap()
        self.eval_clip = self._eval_clip()

    # ---- set-up steps --------------------------------------------------------------------------------------
    def _determinism(self) -> None:
        if self.options.deterministic:
            torch.use_deterministic_algorithms(True)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    def _start(
        self, config: TrainConfig | None
    ) -> tuple[HybridCodec | None, TrainConfig, TeacherSpec | None, dict[str, Any] | None]:
        """A fresh run, a resumed one or a warm start: (the model, None when it is built after the teacher; the
        config; the teacher; the training state of a resumed run, else None). Sets `warm_start`."""
        latest = self._latest_checkpoint()
        self.warm_start: dict[str, Any] | None = None
        state = None
        if latest is not None:
            model, config, teacher, state = self._resumed(latest)
        elif self.options.init_from is not None:
            model, config, teacher = self._warm_started()
        else:
            config, teacher, model = self._fresh(config), self.options.teacher, None
            teacher = teacher if config.model.uses_teacher else None
        _check_semantic_head(config, resumed=state is not None)
        return model, config, teacher, state

    def _latest_checkpoint(self) -> Path | None:
        """The checkpoint a resumed run continues from; None for a new run. Refuses a mismatched --resume."""
        o, out = self.options, Path(self.options.out)
        latest = ckpt.latest_checkpoint(out) if out.exists() else None
        if latest is not None and not o.resume:
            raise HybridcodecError(
                f"{out} already holds a run (step {latest.name})", "pass --resume or a new --out"
            )
        if o.resume and o.init_from is not None:
            raise HybridcodecError("--init-from starts a new run; --resume continues one", "pass one of them")
        if o.resume and latest is None:
            raise HybridcodecError(f"--resume: no checkpoint in {out}", "start without --resume")
        return latest

    def _resumed(self, latest: Path) -> tuple[HybridCodec, TrainConfig, TeacherSpec | None, dict[str, Any]]:
        model, meta, state = ckpt.load_checkpoint(latest)
        config, teacher = TrainConfig.from_json(meta["train_config"]), _stored_teacher(meta)
        self.warm_start = next(iter(ckpt.warm_start_chain(meta)), None)
        if state["data_sha256"] != self.data_sha:
            raise HybridcodecError(
                "--data lists different files than the run being resumed", "pass the same --data as before"
            )
        return model, config, teacher, state

    def _warm_started(self) -> tuple[HybridCodec, TrainConfig, TeacherSpec | None]:
        """The model file of `init_from` with its config and teacher, and the changes a warm start may make."""
        source = self.options.init_from
        assert source is not None
        model, meta = ckpt.load_model(source)
        model = model.float()  # shipped files are fp16; training runs in fp32 (autocast on GPUs)
        self.warm_start = {
            "from": str(source),
            "sha256": sha256_file(ckpt.resolve_model_path(source)),
            "step": int(meta["step"]),
            "dtype": meta.get("dtype", "float32"),
            "data_sha256": meta.get("data_sha256"),
            "corpus_manifest_sha256": meta.get("corpus_manifest_sha256"),
            "device": meta.get("device"),
            # The source's own warm start, so a chain of machines stays on record.
            "previous": next(iter(ckpt.warm_start_chain(meta)), None),
        }
        config = TrainConfig.from_json(meta["train_config"])
        config, teacher, model = self._warm_start_changes(config, _stored_teacher(meta), model)
        config, model = self._new_semantic_head(config, model)
        return model, config, teacher

    def _fresh(self, config: TrainConfig | None) -> TrainConfig:
        if config is None:
            raise HybridcodecError("a new run needs a config (--preset)")
        if config.model.uses_teacher and self.options.teacher is None:
            raise HybridcodecError(
                f"variant {config.model.variant} distills a teacher: pass --teacher",
                "w2v-bert-2.0 (the paper's, downloads when online) or whisper-base-encoder (offline)",
            )
        return config

    def _new_semantic_head(self, config: TrainConfig, model: HybridCodec) -> tuple[TrainConfig, HybridCodec]:
        """A warm start asked for a semantic head of another size gets a fresh one (training only: nothing the
        model encodes changes). A dac model turned dac-distill already got its head of that size."""
        assert self.warm_start is not None
        old, new = config.model.semantic_head_layers, self.options.semantic_head_layers
        changed = self.warm_start.get("changed", {})
        if (
            new is None
            or new == old
            or config.model.variant not in SEMANTIC_HEAD_VARIANTS
            or "variant" in changed
        ):
            return config, model
        model = with_semantic_head(model, new, seed=config.seed)
        # Recorded under the key that shipped checkpoints hold and the leaderboard reads.
        self.warm_start["changed"] = changed | {"semantic_decoder_layers": [old, new]}
        return dataclasses.replace(config, model=model.config), model

    def _follow_anneals(self) -> None:
        """The schedule with the anneal the options ask for, under its one rule (Schedule.with_anneal)."""
        o, optim = self.options, self.config.optim
        schedule = optim.schedule.with_anneal(o.anneal, rewarm=o.rewarm, step=self.start_step, target=o.steps)
        self.config = dataclasses.replace(self.config, optim=dataclasses.replace(optim, schedule=schedule))

    def _teacher(self, model: HybridCodec | None) -> HybridCodec:
        """The teacher's features, computed once per file (shared across ranks; the teacher is loaded only when
        some file's features are missing, and freed right after), and the model to train, built or converted
        to the config's distillation target."""
        self.features: FeatureStore | None = None
        self.target_cpu: TeacherTarget | None = None
        teacher, mc = self.teacher_spec, self.config.model
        if teacher is None:
            return model if model is not None else _rebuilt(None, mc, seed=self.config.seed)
        self.features = FeatureStore.for_model(teacher, mc, self.d.device, self.options.feature_cache)
        self.features.prepare(
            self.files,
            lambda: make_teacher(teacher, device=self.d.device),
            rank=self.d.rank,
            world=self.d.world,
        )
        gc.collect()
        _barrier(self.d)
        if model is None or "variant" in (self.warm_start or {}).get("changed", {}):
            mc = dataclasses.replace(mc, teacher_dim=self.features.dim, teacher=teacher.name)
            self.config = dataclasses.replace(self.config, model=mc)
        elif self.features.dim != mc.teacher_dim:
            raise HybridcodecError(
                f"the teacher features have {self.features.dim} dims, the model expects {mc.teacher_dim}",
                "train with the teacher the checkpoint was trained with",
            )
        model, self.teacher_spec = self._with_target(model, teacher)
        return model

    def _samplers(self) -> None:
        """The training crops, and the fixed held-out crops scored at every checkpoint (rank 0 only)."""
        config, mc, o = self.config, self.config.model, self.options
        segment_frames = max(1, round(config.segment_seconds * mc.frame_rate))
        self.sampler = CropSampler(
            files=self.files, sample_rate=mc.sample_rate, hop=mc.hop_length, segment_frames=segment_frames,
            batch_size=config.batch_size, seed=config.seed, features=self.features, target=self.target_cpu,
        )  # fmt: skip
        self.valid_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if o.valid and self.d.main:
            valid_files = list_audio(list(o.valid))
            if self.features is not None:
                teacher = self.teacher_spec
                self.features.prepare(valid_files, lambda: make_teacher(teacher, device=self.d.device))
            self.valid_batch = CropSampler(
                files=valid_files, sample_rate=mc.sample_rate, hop=mc.hop_length, segment_frames=segment_frames,
                batch_size=VALID_CROPS, seed=config.seed + 1, features=self.features, target=self.target_cpu,
            ).batch(0)  # fmt: skip

    def _models(self, model: HybridCodec) -> None:
        """Generator, discriminator and mel loss on the device, initialised identically on every rank (DDP also
        broadcasts rank 0's at wrap time)."""
        config = self.config
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        self.model = model.to(self.d.device).train()
        dc = config.discriminator
        self.disc = (
            Discriminator(periods=dc.periods, fft_sizes=dc.fft_sizes, width=dc.width)
            .to(self.d.device)
            .train()
        )
        self.mel_loss = MultiScaleMelLoss(
            sample_rate=config.model.sample_rate, windows=config.loss.mel_windows, n_mels=config.loss.mel_bins
        ).to(self.d.device)

    def _optimisers(self) -> None:
        oc = self.config.optim
        lr, kw = oc.schedule.lr, {"betas": oc.betas, "weight_decay": oc.weight_decay}
        self.opt_g = torch.optim.AdamW(self.model.parameters(), lr=lr, **kw)
        self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=lr, **kw)
        # The generator's learning rate is set before every update from the schedule (a function of the step
        # alone); the discriminator's decays per update of its own, which start late.
        self.sched_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, gamma=oc.schedule.gamma)
        self.amp_dtype = resolve_precision(self.options.precision, self.d.device)
        self.scaler = torch.amp.GradScaler(self.d.device.type, enabled=self.amp_dtype == torch.float16)

    def _restore(self, state: dict[str, Any] | None) -> None:
        """The RNGs (seeded per rank, or a resumed run's own states), the optimisers' state of a resumed run,
        and the generator's learning rate at the start step."""
        # Different quantizer-dropout draws per rank, reproducible per (seed, rank, starting step).
        seed = self.config.seed * 1000 + 1 + self.d.rank + 7919 * self.start_step
        torch.manual_seed(seed)
        random.seed(seed)
        if state is not None:
            self.disc.load_state_dict(state["discriminator"])
            self.opt_g.load_state_dict(state["generator_opt"])
            self.opt_d.load_state_dict(state["discriminator_opt"])
            self.sched_d.load_state_dict(state["discriminator_sched"])
            self.scaler.load_state_dict(state["scaler"])
            self._restore_rngs(state["rng"])
        self._set_generator_lr(self.start_step)  # also overrides the rate stored with the optimizer state

    def _restore_rngs(self, rngs: list[dict[str, Any]]) -> None:
        if len(rngs) != self.d.world and self.d.main:
            print(
                f"warning: resuming {len(rngs)}-process RNG states on {self.d.world} processes (not bit-exact)"
            )
        if self.d.rank < len(rngs):
            set_rng_state(rngs[self.d.rank])

    def _wrap(self) -> None:
        if self.d.world > 1:
            ids = [self.d.device.index] if self.d.device.type == "cuda" else None
            self.g_train: torch.nn.Module = DDP(self.model, device_ids=ids)
            self.d_train: torch.nn.Module = DDP(self.disc, device_ids=ids)
        else:
            self.g_train, self.d_train = self.model, self.disc

    def _warm_start_changes(
        self, config: TrainConfig, teacher: TeacherSpec | None, model: HybridCodec
    ) -> tuple[TrainConfig, TeacherSpec | None, HybridCodec]:
        """A warm start may turn `dac` into `dac-distill` (the same layers, a fresh semantic head, and the
        teacher of the options) and choose its own distillation form; both are recorded as `changed`."""
        o, changed = self.options, {}
        if o.variant and o.variant != config.model.variant:
            if (config.model.variant, o.variant) != ("dac", "dac-distill"):
                raise HybridcodecError(
                    f"--init-from a {config.model.variant} model cannot become {o.variant}",
                    "a warm start can only add distillation to a dac model (--variant dac-distill)",
                )
            if o.teacher is None:
                raise HybridcodecError("--variant dac-distill distills a teacher: pass --teacher")
            changed["variant"] = [config.model.variant, o.variant]
            layers = o.semantic_head_layers
            layers = config.model.semantic_head_layers if layers is None else layers
            config = dataclasses.replace(
                config,
                model=dataclasses.replace(config.model, variant=o.variant, semantic_head_layers=layers),
            )
            teacher = o.teacher
        elif o.teacher is not None and teacher is not None and o.teacher != teacher:
            raise HybridcodecError(
                "a warm-started run keeps the teacher and target it was trained with",
                "drop --teacher options",
            )
        if o.distillation_form and o.distillation_form != config.loss.distillation_form:
            changed["distillation_form"] = [config.loss.distillation_form, o.distillation_form]
            config = dataclasses.replace(
                config, loss=dataclasses.replace(config.loss, distillation_form=o.distillation_form)
            )
        if changed:
            self.warm_start["changed"] = changed
        return config, teacher, model

    def _with_target(
        self, model: HybridCodec | None, teacher: TeacherSpec
    ) -> tuple[HybridCodec, TeacherSpec]:
        """The model to train, built or converted to the config's variant and distillation target, with the
        target's statistics: those the checkpoint holds, else fitted now on the training files' features."""
        mc = self.config.model
        stats = None
        if teacher.target != "raw":
            held = model.teacher_target if model is not None else None
            if held is not None and model.config.teacher_target == teacher.target:
                stats = {k: v.detach().cpu() for k, v in held.state_dict().items()}
            else:
                stats = target_mod.fit(self._corpus_features(), kind=teacher.target, frame_rate=mc.frame_rate)
            mc = dataclasses.replace(
                mc, teacher_target=teacher.target, teacher_positions=stats["position_mean"].shape[0]
            )
            self.config = dataclasses.replace(self.config, model=mc)
        if model is None or model.config != mc:
            model = _rebuilt(model, mc, seed=self.config.seed)
        if stats is not None:
            model.teacher_target.load_stats(stats)
            self.target_cpu = target_mod.make_target(stats, frame_rate=mc.frame_rate)
            teacher = dataclasses.replace(teacher, target_stats=self.target_cpu.sha256())
        return model, teacher

    def _corpus_features(self) -> list:
        """Every training file's raw teacher features, to fit the target statistics on."""
        assert self.features is not None
        return [
            self.features.load(f)
            for f in tqdm(
                self.files,
                desc="target statistics",
                leave=False,
                disable=not (self.d.main and self.options.progress),
            )
        ]

    # ---- pieces --------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.d.device.type, dtype=self.amp_dtype)

    def _eval_clip(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A fixed clip (the first file, up to 4 s) for audio samples, with its teacher features if needed."""
        mc = self.config.model
        frames = max(1, min(math.ceil(self.sampler.lengths[0] / mc.hop_length), int(4 * mc.frame_rate)))
        wav = self.sampler.audio(0)[: frames * mc.hop_length]
        wav = torch.nn.functional.pad(wav, (0, frames * mc.hop_length - wav.shape[-1]))[None, None]
        feats = None
        if self.features is not None and mc.needs_teacher_at_inference:
            f = torch.from_numpy(self.features.load(self.files[0])[:frames].copy())
            feats = f.T[None] if self.target_cpu is None else self.target_cpu(f.T[None], 0)
        return wav, feats

    def metadata(self) -> dict[str, str]:
        return {
            "train_config": self.config.to_json(),
            "teacher": json.dumps(dataclasses.asdict(self.teacher_spec)) if self.teacher_spec else "",
            "variant": self.config.model.variant,
            "data_files": str(len(self.files)),
            "data_sha256": self.data_sha,
            "data_manifests": json.dumps(manifest_hashes(self.options.data)),
            "device": describe_device(self.d.device, self.d.world),
            "created_by": "hybridcodec train",
            "warm_start": json.dumps(self.warm_start) if self.warm_start else "",
        }

    def training_state(self) -> dict[str, Any]:
        rngs = [rng_state()]
        if self.d.world > 1:
            rngs = [None] * self.d.world
            dist.all_gather_object(rngs, rng_state())
        return {
            "discriminator": self.disc.state_dict(),
            "generator_opt": self.opt_g.state_dict(),
            "discriminator_opt": self.opt_d.state_dict(),
            "discriminator_sched": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rngs,
            "world_size": self.d.world,
            "train_config": self.config.to_json(),
            "data_sha256": self.data_sha,
        }

    def save(self, step: int) -> None:
        state = self.training_state()  # every rank joins the RNG gather
        if self.d.main:
            ckpt.write_checkpoint(
                Path(self.options.out), step, self.model, self.metadata(), state, keep=self.options.keep
            )
        _barrier(self.d)

    @torch.no_grad()
    def samples(self, logger: RunLogger, step: int) -> None:
        wav, feats = self.eval_clip
        wav = wav.to(self.d.device)
        feats = feats.to(self.d.device) if feats is not None else None
        sr = self.config.model.sample_rate
        if not (Path(self.options.out) / "samples" / "step_0000000_reference.wav").exists():
            logger.audio(0, "reference", wav[0, 0], sr)
        codes = self.model.encode(wav, teacher=feats)
        for k in sorted({1, codes.shape[1]}):
            logger.audio(step, f"depth{k:02d}", self.model.decode(codes[:, :k])[0, 0], sr)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Losses on the fixed held-out crops (eval mode): mel at full depth and at depth 1, distillation."""
        assert self.valid_batch is not None
        wav, feats = (t.to(self.d.device) if t is not None else None for t in self.valid_batch)
        model = self.model.eval()
        try:
            out = model(wav, teacher=feats if self.config.model.needs_teacher_at_inference else None)
            logs = {
                "valid/mel": self.mel_loss(out.audio, wav).item(),
                "valid/mel_depth1": self.mel_loss(model.decode(out.codes[:, :1]), wav).item(),
            }
            if out.semantic_pred is not None:
                form = self.config.loss.distillation_form
                logs["valid/distillation"] = distillation_loss(out.semantic_pred, feats, form).item()
                logs["valid/distillation_r2"] = explained_variance(out.semantic_pred, feats).item()
        finally:
            model.train()
        return logs

    def _set_generator_lr(self, step: int) -> float:
        lr = self.config.optim.schedule.lr_at(step)
        for group in self.opt_g.param_groups:
            group["lr"] = lr
        return lr

    # ---- one update ----------------------------------------------------------------------------------------
    def train_step(
        self, step: int, batch: tuple[torch.Tensor, torch.Tensor | None] | None = None
    ) -> dict[str, float]:
        """One discriminator + generator update on step `step`'s crops (`batch`, if already drawn)."""
        cfg, lc, oc = self.config, self.config.loss, self.config.optim
        t0 = time.perf_counter()
        wav, feats = batch if batch is not None else self.sampler.batch(step, self.d.rank)
        wav = wav.to(self.d.device)
        feats = feats.to(self.d.device) if feats is not None else None
        batch = wav.shape[0]
        use_adv = step >= cfg.adversarial_start
        teacher_in = feats if cfg.model.needs_teacher_at_inference else None

        with self._autocast():
            out = self.g_train(wav, teacher=teacher_in)
        recon = out.audio[..., : wav.shape[-1]]
        logs: dict[str, float] = {}

        if use_adv:  # discriminators first, on the detached reconstruction; one forward on [fake; real]
            with self._autocast():
                fake, real = split_real_fake(self.d_train(torch.cat([recon.detach(), wav])), batch)
                loss_d = discriminator_loss(fake, real)
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(loss_d).backward()
            self.scaler.unscale_(self.opt_d)
            gn_d = torch.nn.utils.clip_grad_norm_(self.disc.parameters(), oc.grad_clip_discriminator)
            self.scaler.step(self.opt_d)
            logs |= {"loss/discriminator": loss_d.item(), "grad_norm/discriminator": gn_d.item()}

        with self._autocast():
            mel = self.mel_loss(recon, wav)
            total = lc.mel * mel + lc.commitment * out.commitment_loss + lc.codebook * out.codebook_loss
            logs |= {"loss/mel": mel.item(), "loss/commitment": out.commitment_loss.item(), "loss/codebook": out.codebook_loss.item()}  # fmt: skip
            if out.semantic_pred is not None:
                distill = distillation_loss(out.semantic_pred, feats, lc.distillation_form)
                total = total + lc.distillation * distill
                logs["loss/distillation"] = distill.item()
            if use_adv:
                # The unwrapped discriminator: its gradients here are discarded (zeroed before its next update),
                # and going around DDP keeps one DDP forward per backward.
                fake, real = split_real_fake(self.disc(torch.cat([recon, wav])), batch)
                adv, fm = generator_losses(fake, real)
                total = total + lc.adversarial * adv + lc.feature_matching * fm
                logs |= {"loss/adversarial": adv.item(), "loss/feature_matching": fm.item()}
        lr = self._set_generator_lr(step)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.opt_g)
        gn_g = torch.nn.utils.clip_grad_norm_(self.model.parameters(), oc.grad_clip_generator)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if use_adv:  # the discriminator's schedule counts its own updates
            self.sched_d.step()
        logs |= {
            "loss/generator": total.item(),
            "grad_norm/generator": gn_g.item(),
            "lr": lr,
            "depth/mean": out.depth.float().mean().item(),
            "time/step_s": time.perf_counter() - t0,
        }
        return logs

    def _mean_over_ranks(self, logs: dict[str, float]) -> dict[str, float]:
        if self.d.world == 1:
            return logs
        keys = sorted(logs)
        t = torch.tensor([logs[k] for k in keys], dtype=torch.float64, device=self.d.device)
        dist.all_reduce(t)
        return {k: v / self.d.world for k, v in zip(keys, t.tolist(), strict=True)}

    # ---- the loop ------------------------------------------------------------------------------------------
    def fit(self) -> Path:
        """Train from the current step to `options.steps`; returns the run folder."""
        o, cfg = self.options, self.config
        out = Path(o.out)
        if self.start_step >= o.steps:
            raise HybridcodecError(
                f"the run is already at step {self.start_step} >= --steps {o.steps}", "raise --steps"
            )
        if self.d.main:
            out.mkdir(parents=True, exist_ok=True)
            (out / "config.json").write_text(json.dumps(json.loads(cfg.to_json()), indent=2))
        logger = RunLogger(run=out, start_step=self.start_step) if self.d.main else None
        bar = tqdm(
            total=o.steps,
            initial=self.start_step,
            disable=not (self.d.main and o.progress),
            unit="step",
            dynamic_ncols=True,
        )
        prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crops")
        try:
            # Crops are a pure function of (seed, step, rank), so the next step's can be read and resampled
            # in a background thread while this step computes, without changing what any step sees.
            pending = prefetch.submit(self.sampler.batch, self.start_step, self.d.rank)
            for step in range(self.start_step, o.steps):
                batch = pending.result()
                if step + 1 < o.steps:
                    pending = prefetch.submit(self.sampler.batch, step + 1, self.d.rank)
                logs = self.train_step(step, batch)
                done = step + 1
                bar.update(1)
                if done % cfg.log_every == 0 or done == o.steps:
                    logs = self._mean_over_ranks(logs)
                    if logger is not None:
                        logger.scalars(done, logs)
                        bar.set_postfix(mel=f"{logs['loss/mel']:.3f}", refresh=False)
                if done % cfg.sample_every == 0 and logger is not None:
                    self.samples(logger, done)
                if done % cfg.checkpoint_every == 0 or done == o.steps:
                    if logger is not None and self.valid_batch is not None:
                        logger.scalars(done, self.validate())
                    self.save(done)
        finally:
            prefetch.shutdown(wait=True, cancel_futures=True)
            bar.close()
            if logger is not None:
                logger.close()
        return out


def _rebuilt(model: HybridCodec | None, config, *, seed: int) -> HybridCodec:
    """A model of `config` carrying every weight of `model` (None: freshly initialised from `seed`). Only what a
    warm start may add starts fresh: the semantic head of a dac model turned dac-distill, and the target
    statistics (filled in by the caller)."""
    torch.manual_seed(seed)
    new = HybridCodec(config=config)
    if model is None:
        return new
    fresh = (SEMANTIC_HEAD_KEYS, "teacher_target.")
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith("teacher_target.")}
    result = new.load_state_dict(kept, strict=False)
    stray = [k for k in [*result.missing_keys, *result.unexpected_keys] if not k.startswith(fresh)]
    if stray:
        raise HybridcodecError(f"cannot carry the model's weights into {config.variant}: {stray[:3]}")
    return new


def _stored_teacher(meta: dict[str, str]) -> TeacherSpec | None:
    return TeacherSpec(**json.loads(meta["teacher"])) if meta.get("teacher") else None


def _check_semantic_head(config: TrainConfig, *, resumed: bool) -> None:
    """A new run distilling through a semantic head of 0 blocks could only fit a rank-`codebook_dim` map."""
    mc = config.model
    if mc.variant in SEMANTIC_HEAD_VARIANTS and mc.semantic_head_layers < 1 and not resumed:
        raise HybridcodecError(
            f"{mc.variant} distills through a semantic head of 0 ConvNeXt blocks: a 1x1 conv of the "
            f"{mc.codebook_dim}-d code, which can fit only a rank-{mc.codebook_dim} map",
            "pass --semantic-head-layers 1 or more (the presets use 2 and 5)",
        )


def train(config: TrainConfig | None, options: RunOptions) -> Path:
    """Run (or resume) a training run; returns the run folder."""
    trainer = Trainer(config=config, options=options)
    try:
        return trainer.fit()
    finally:
        if trainer.d.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
