"""Descript Audio Codec (DAC) through the `descript-audio-codec` package.

Weights are DAC's own checkpoint format (`{"state_dict", "metadata": {"kwargs"}}`), looked up in order:
`--weights PATH`, then hybridbench's cache (filled by `hybridbench weights fetch dac-16khz`, which records the
file's sha256 and refuses it if it later changes), then DAC's own download cache (`~/.cache/descript/dac/`),
where DAC's `download` (online) puts them. Unlike `DAC.load`, the file is read with
`torch.load(weights_only=True)` (no arbitrary unpickling) and the state dict is loaded strictly, so a
checkpoint that does not match the architecture is an error, not a silently half-initialised model.
Decoding from the first k codebooks uses DAC's own path: `quantizer.from_codes(codes[:, :k])` then `decode`, in eval mode (DAC ignores `n_quantizers` in train mode).
We never use `compress`/`decompress`, which loudness-normalise and encode in 1 s chunks.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs.base import Codec, CodecInfo, WeightsStatus, require_same_facts
from hybridbench.errors import HybridbenchError, WeightsNotFoundError


class _DacCodec(Codec):
    """Shared adapter; the subclasses pin one published DAC configuration."""

    model_type: ClassVar[str]  # DAC's own name for the configuration: "16khz", "24khz", "44khz"
    model_bitrate: ClassVar[str] = "8kbps"
    tag: ClassVar[str]
    hop_length: ClassVar[int]
    causal = False
    weights_license = "MIT"
    source = "https://github.com/descriptinc/descript-audio-codec"

    def __init__(self, *, model: Any, device: str | torch.device = "cpu"):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()

    @classmethod
    def default_weights_path(cls) -> Path:
        # Exactly where dac.utils.download() stores the file, so weights fetched by DAC itself are found.
        return (
            Path.home()
            / ".cache"
            / "descript"
            / "dac"
            / f"weights_{cls.model_type}_{cls.model_bitrate}_{cls.tag}.pth"
        )

    @classmethod
    def fetch_command(cls) -> str:
        return f"hybridbench weights fetch {cls.name} (online), or pass --weights PATH"

    @classmethod
    def cached_weights_path(cls) -> Path:
        """Where `hybridbench weights fetch` puts the file (hybridbench.weights' table, checksum recorded)."""
        ckpt = W.CHECKPOINTS[cls.name]
        return W.folder(ckpt) / ckpt.main.filename

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        """The published facts; a `--weights` file of another DAC configuration is refused here, while the run
        plans, instead of after other codecs' rows were computed."""
        if weights and Path(weights).is_file():
            require_same_facts(
                cls.name,
                "sample rate, hop, codebooks, codebook size",
                dac_checkpoint_facts(Path(weights)),
                (cls.sample_rate, cls.hop_length, len(cls.codebook_sizes), cls.codebook_sizes[0]),
                f"{weights} holds another DAC configuration: pass the checkpoint that belongs to this codec",
            )
        return super().describe(weights)

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        # --weights PATH, else hybridbench's cache, else DAC's own download cache.
        candidates = [Path(weights)] if weights else [cls.cached_weights_path(), cls.default_weights_path()]
        for path in candidates:
            if path.is_file():
                return WeightsStatus(available=True, location=str(path))
        return WeightsStatus(available=False, location=str(candidates[0]), hint=cls.fetch_command())

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> _DacCodec:
        status = cls.weights_status(weights)
        if not status.available:
            raise WeightsNotFoundError(f"{cls.name}: weights not found at {status.location}", status.hint)
        path = Path(status.location)
        if not weights and path == cls.cached_weights_path():
            W.verify(path, W.CHECKPOINTS[cls.name].main)  # a file changed since its fetch is refused
        codec = cls(model=load_dac_checkpoint(path, expect=cls), device=device)
        codec.fold_for_inference()
        return codec

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        self.check_input(wav)
        audio = self.model.preprocess(wav.to(self.device), self.sample_rate)  # right-pad to a multiple of hop
        _, codes, *_ = self.model.encode(audio)
        return codes.long()

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        z = self.model.quantizer.from_codes(codes.to(self.device))[0]
        return self.model.decode(z)


def dac_checkpoint_facts(path: Path) -> tuple[int, int, int, int]:
    """(sample rate, hop, codebooks, codebook size) of a DAC checkpoint, read from its metadata alone: the
    tensors are memory-mapped, not read, so a run can check `--weights` while planning, before any codec
    computes a row."""
    import inspect

    import dac

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        kwargs = dict(ckpt["metadata"]["kwargs"])
    except Exception as exc:
        raise HybridbenchError(
            f"{path} is not a readable DAC checkpoint ({type(exc).__name__}: {exc})".splitlines()[0],
            "re-download it or pass the right --weights file",
        ) from None
    defaults = {
        name: p.default
        for name, p in inspect.signature(dac.DAC).parameters.items()
        if p.default is not p.empty
    }
    facts = defaults | kwargs
    return (
        int(facts["sample_rate"]),
        math.prod(facts["encoder_rates"]),
        int(facts["n_codebooks"]),
        int(facts["codebook_size"]),
    )


def load_dac_checkpoint(path: Path, *, expect: type[_DacCodec] | None = None) -> Any:
    """Build a `dac.DAC` from a DAC checkpoint file, safely and strictly.

    `expect` checks that the checkpoint's sample rate, hop and codebooks match the adapter's published facts.
    """
    import dac

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        kwargs = dict(ckpt["metadata"]["kwargs"])
        state_dict = ckpt["state_dict"]
    except Exception as exc:
        raise HybridbenchError(
            f"{path} is not a readable DAC checkpoint ({type(exc).__name__}: {exc})".splitlines()[0],
            "re-download it or pass the right --weights file",
        ) from exc
    model = dac.DAC(**kwargs)
    if expect is not None:
        found = (model.sample_rate, int(model.hop_length), model.n_codebooks, model.codebook_size)
        wanted = (expect.sample_rate, expect.hop_length, len(expect.codebook_sizes), expect.codebook_sizes[0])
        require_same_facts(
            expect.name,
            "sample rate, hop, codebooks, codebook size",
            found,
            wanted,
            f"{path} holds another DAC configuration: pass the checkpoint that belongs to this codec",
        )
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise HybridbenchError(
            f"{path} does not match the DAC architecture: {str(exc).splitlines()[0]}",
            "the file is corrupt or from another model",
        ) from exc
    return model.eval()


class Dac16kHz(_DacCodec):
    name = "dac-16khz"
    model_type = "16khz"
    tag = "0.0.5"
    sample_rate = 16000
    hop_length = 320
    frame_rate = 16000 / 320
    codebook_sizes = (1024,) * 12
    description = "DAC 16 kHz, 12 x 1024 RVQ at 50 Hz (6 kbps)"


class Dac24kHz(_DacCodec):
    name = "dac-24khz"
    model_type = "24khz"
    tag = "0.0.4"
    sample_rate = 24000
    hop_length = 320
    frame_rate = 24000 / 320
    codebook_sizes = (1024,) * 32
    description = "DAC 24 kHz, 32 x 1024 RVQ at 75 Hz (24 kbps)"


class Dac44kHz(_DacCodec):
    name = "dac-44khz"
    model_type = "44khz"
    tag = "0.0.1"
    sample_rate = 44100
    hop_length = 512
    frame_rate = 44100 / 512
    codebook_sizes = (1024,) * 9
    description = "DAC 44.1 kHz, 9 x 1024 RVQ at 86.1 Hz (7.75 kbps)"
