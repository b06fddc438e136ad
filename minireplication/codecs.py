"""The four mini models this replication trains and ships, registered as hybridbench codecs (pyproject entry
points `hybridcodec-mini`, `dac-mini`, `dac-distill-mini`, `dualcodec-mini`).

Each is the hybridcodec adapter of its variant with the shipped checkpoint as the default weights, so
`hybridbench run --codecs hybridcodec-mini` needs no `--weights`.
"""

from __future__ import annotations

from hybridcodec.adapter import HybridCodec, HybridCodecDac, HybridCodecDacDistill, HybridCodecDualCodec
from minireplication.ship import packaged_path

_MINI = "mini preset trained here by `minireplication replicate` on the offline English corpus, shipped in the package"
_SHIPPED_HINT = (
    "the package ships it: reinstall, or run `minireplication replicate` and `minireplication ship`"
)


class _Shipped:
    """Mixed into an adapter: the shipped checkpoint of `packaged` is the default weights."""

    packaged: str
    missing_hint = _SHIPPED_HINT

    @classmethod
    def default_weights(cls, weights: str | None) -> str | None:
        if weights:
            return weights
        path = packaged_path(cls.packaged)
        return str(path) if path.is_file() else None


class HybridCodecMini(_Shipped, HybridCodec):
    name = "hybridcodec-mini"
    packaged = "hybrid"
    description = f"HybridCodec, {_MINI}"


class DacMini(_Shipped, HybridCodecDac):
    name = "dac-mini"
    packaged = "dac"
    description = f"DAC baseline, {_MINI}"


class DacDistillMini(_Shipped, HybridCodecDacDistill):
    name = "dac-distill-mini"
    packaged = "dac-distill"
    description = f"DAC (Distill) baseline, {_MINI}"


class DualCodecMini(_Shipped, HybridCodecDualCodec):
    name = "dualcodec-mini"
    packaged = "dualcodec"
    description = f"DualCodec design, {_MINI}"


MINI_CODECS = (HybridCodecMini, DacMini, DacDistillMini, DualCodecMini)


# Each trained variant under the name its shipped checkpoint is registered as.
CODEC_OF_VARIANT = {c.packaged: c.name for c in (HybridCodecMini, DualCodecMini, DacDistillMini, DacMini)}
