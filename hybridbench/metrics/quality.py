"""Reference-free quality estimates of the decoded audio: DNSMOS (offline) and UTMOS (online).

DNSMOS P.835 (Reddy et al. 2022) predicts three MOS from the degraded signal alone: SIG (speech distortion),
BAK (background noise intrusiveness) and OVRL (overall), plus a P.808 overall MOS from a second model. The
ONNX models ship inside the `speechmos` wheel, which runs Microsoft's reference procedure: 9.01 s windows
hopped by 1 s and averaged; a clip shorter than 9.01 s is repeated end to end until it is long enough (so a
4 s clip is scored on 7 overlapping windows of its own repetition). The non-personalized models are used.
One DNSMOS pass gives all four numbers; the four plugins share it through a one-entry cache.

UTMOS (Saeki et al. 2022, the UTMOS22 strong learner; what codec papers report as "UTMOS") comes from the
`utmos-pytorch` package, a fairseq-free port whose weights download from the Hugging Face hub
(`Blinorot/UTMOS-PyTorch`). It is not a dependency: install it and run online once, or point
HYBRIDBENCH_UTMOS_CHECKPOINT at a local `utmos_state_dict.pt`. Offline without it, asking for the metric
stops the run with a clear error before any item is scored.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from typing import ClassVar

import numpy as np

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec

# DNSMOS tiles short clips up to its 9.01 s window; below a second that is scoring a loop of a fragment.
MIN_SECONDS = 1.0
UTMOS_ENV = "HYBRIDBENCH_UTMOS_CHECKPOINT"
UTMOS_PACKAGE = "utmos-pytorch==0.1.0"

_last: tuple[bytes, dict[str, float]] | None = None


def dnsmos_scores(degraded: np.ndarray, sample_rate: int = 16000) -> dict[str, float]:
    """{'ovrl', 'sig', 'bak', 'p808'} for one 16 kHz signal; the last signal's scores are kept."""
    global _last
    x = np.asarray(degraded, dtype=np.float32)
    if x.size < MIN_SECONDS * sample_rate:
        raise MetricFailure(f"DNSMOS: the signal is shorter than {MIN_SECONDS:g} s")
    if not np.isfinite(x).all():
        raise MetricFailure("DNSMOS: the signal contains NaN or inf samples")
    key = hashlib.blake2b(x.tobytes(), digest_size=16).digest()
    if _last is not None and _last[0] == key:
        return _last[1]
    from speechmos import dnsmos

    # speechmos refuses samples outside [-1, 1]; playback or a 16-bit file would clip them the same way.
    out = dnsmos.run(np.clip(x, -1.0, 1.0), sr=sample_rate)
    scores = {k: float(out[f"{k}_mos"]) for k in ("ovrl", "sig", "bak", "p808")}
    _last = (key, scores)
    return scores


def _dnsmos_spec(key: str, what: str) -> MetricSpec:
    return MetricSpec(
        name=f"dnsmos-{key}",
        version=f"speechmos {version('speechmos')} (DNSMOS non-personalized ONNX models in the wheel)",
        higher_is_better=True,
        needs_reference=False,
        sample_rate=16000,
        unit="MOS",
        description=(
            f"DNSMOS {what} (1 to 5) of the decoded audio alone, speechmos; 9.01 s windows averaged, shorter "
            "clips repeated to fill one"
        ),
    )


class _Dnsmos(Metric):
    key: ClassVar[str]

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        return dnsmos_scores(degraded, self.spec.sample_rate)[self.key]


class DnsmosOverall(_Dnsmos):
    key = "ovrl"
    spec = _dnsmos_spec("ovrl", "P.835 overall quality (OVRL)")


class DnsmosSignal(_Dnsmos):
    key = "sig"
    spec = _dnsmos_spec("sig", "P.835 speech signal quality (SIG)")


class DnsmosBackground(_Dnsmos):
    key = "bak"
    spec = _dnsmos_spec("bak", "P.835 background noise quality (BAK)")


class DnsmosP808(_Dnsmos):
    key = "p808"
    spec = _dnsmos_spec("p808", "P.808 overall quality (second model, log-mel input)")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


class Utmos(Metric):
    spec = MetricSpec(
        name="utmos",
        version=f"utmos-pytorch {_package_version('utmos-pytorch')} (UTMOS22 strong learner, Blinorot/UTMOS-PyTorch)",
        higher_is_better=True,
        needs_reference=False,
        sample_rate=16000,
        unit="MOS",
        description=(
            "UTMOS22 strong-learner MOS prediction (1 to 5) of the decoded audio alone, batch size 1; "
            "fairseq-free port, weights from the Hugging Face hub"
        ),
    )

    def __init__(self, checkpoint: str | os.PathLike[str] | None = None) -> None:
        try:
            from utmos_pytorch import UTMOSScoreTorch
            from utmos_pytorch.utils import download_utmos_ckpt
        except ImportError as exc:
            raise HybridbenchError(
                "the utmos metric needs the utmos-pytorch package, which is not installed",
                f"pip install {UTMOS_PACKAGE} (its weights download from the Hugging Face hub on first use)",
            ) from exc
        path = checkpoint or os.environ.get(UTMOS_ENV)
        try:
            if path is None:
                path = download_utmos_ckpt()
            import torch

            scorer = UTMOSScoreTorch(ckpt_path=str(path), device="cpu")
            # utmos-pytorch loads with strict=False and stays silent about missing weights: load again strictly.
            scorer.model.load_state_dict(
                torch.load(str(path), map_location="cpu", weights_only=True), strict=True
            )
        except Exception as exc:  # hub errors differ by huggingface_hub version; all mean "no weights here"
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            raise HybridbenchError(
                f"UTMOS weights could not be loaded ({reason})",
                f"run once online to download Blinorot/UTMOS-PyTorch, or set {UTMOS_ENV} to utmos_state_dict.pt",
            ) from exc
        self._scorer = scorer.eval()

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        import torch

        if not np.any(degraded):
            raise MetricFailure("UTMOS: the signal is all zeros")
        with torch.inference_mode():
            return float(
                self._scorer.score(torch.from_numpy(np.asarray(degraded, dtype=np.float32))[None, None])[0]
            )
