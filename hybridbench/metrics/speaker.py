"""Speaker similarity: does the decoded audio still sound like the same speaker as the original?

Two plugins, both the cosine between speaker embeddings of the reference and of the decoded signal:

- `speaker-sim-resemblyzer` (offline): Resemblyzer's GE2E LSTM speaker encoder (Wan et al. 2018), whose
  weights ship inside the `resemblyzer` wheel. Its embeddings are ReLU outputs, so the cosine lies in [0, 1]
  and different speakers rarely score below ~0.5: read it relative to other codecs, not as an absolute.
- `speaker-sim-wavlm` (online): WavLM x-vectors (`transformers.WavLMForXVector`, default
  `microsoft/wavlm-base-plus-sv` from the Hugging Face hub), closer to the WavLM/ECAPA verifiers behind the
  "SIM" columns of codec papers. The model is a hub name or a local folder, from the constructor or the
  environment variable HYBRIDBENCH_WAVLM_SV; offline without a local copy it stops the run with a clear
  error before any item is scored. (An ECAPA-TDNN verifier needs speechbrain, which is not a dependency.)

Neither number is comparable with the other, nor with a paper's SIM computed by a third verifier.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import replace
from functools import cache
from importlib.metadata import version
from typing import Any

import numpy as np
import torch

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.base import Metric, MetricFailure, MetricSpec

# Resemblyzer trims silences with a VAD; a decoded signal with less voiced audio than this left is not
# something a speaker embedding can describe (its encoder looks at 1.6 s windows).
MIN_VOICED_SECONDS = 0.5
WAVLM_ENV = "HYBRIDBENCH_WAVLM_SV"
DEFAULT_WAVLM_SV = "microsoft/wavlm-base-plus-sv"


def _digest(x: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).digest()


class _EmbeddingSimilarity(Metric):
    """Cosine of two embeddings; the reference's embedding is kept, since every depth reuses it."""

    def __init__(self) -> None:
        self._last_reference: tuple[bytes, np.ndarray] | None = None

    def embed(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _reference_embedding(self, reference: np.ndarray) -> np.ndarray:
        key = _digest(reference)
        if self._last_reference is None or self._last_reference[0] != key:
            self._last_reference = (key, self.embed(reference))
        return self._last_reference[1]

    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        a, b = self._reference_embedding(reference), self.embed(degraded)
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if na == 0.0 or nb == 0.0:
            raise MetricFailure(f"{self.name}: an embedding is all zeros; the cosine is undefined")
        return float(np.dot(a, b) / (na * nb))


@cache
def _resemblyzer_encoder() -> Any:
    """One encoder per process (loading takes seconds, the first embedding more, for JIT warm-up)."""
    from pathlib import Path

    import resemblyzer
    from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder("cpu", verbose=False)
    # Resemblyzer loads its weights with strict=False; check that every parameter really came from the file.
    weights = Path(resemblyzer.__file__).parent / "pretrained.pt"
    stored = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
    missing = sorted(set(encoder.state_dict()) - set(stored))
    if missing:
        raise HybridbenchError(f"Resemblyzer's weights lack {missing}", "reinstall resemblyzer==0.1.4")
    return encoder.eval()


class ResemblyzerSimilarity(_EmbeddingSimilarity):
    spec = MetricSpec(
        name="speaker-sim-resemblyzer",
        version=f"resemblyzer {version('resemblyzer')} (pretrained.pt in the wheel)",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="cosine",
        description=(
            "cosine between Resemblyzer GE2E utterance embeddings of the reference and the decoded audio, after "
            "Resemblyzer's preprocessing (gain raised to -30 dBFS, long silences trimmed by webrtcvad); "
            "range 0 to 1; not comparable with WavLM/ECAPA SIM"
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self._encoder = _resemblyzer_encoder()

    def embed(self, x: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav

        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")  # log10(0) of a silent signal: handled below
            wav = preprocess_wav(np.asarray(x, dtype=np.float32), source_sr=self.spec.sample_rate)
        if wav.size < MIN_VOICED_SECONDS * self.spec.sample_rate or not np.isfinite(wav).all():
            raise MetricFailure(
                f"{self.name}: under {MIN_VOICED_SECONDS} s of voiced audio after silence trimming (silent?)"
            )
        with torch.inference_mode():
            return self._encoder.embed_utterance(wav)


class WavLMSimilarity(_EmbeddingSimilarity):
    spec = MetricSpec(
        name="speaker-sim-wavlm",
        version=f"transformers {version('transformers')}; model {DEFAULT_WAVLM_SV} unless {WAVLM_ENV} is set",
        higher_is_better=True,
        needs_reference=True,
        sample_rate=16000,
        unit="cosine",
        description=(
            "cosine between WavLM x-vector embeddings (transformers WavLMForXVector, default "
            f"{DEFAULT_WAVLM_SV}) of the reference and the decoded audio, each embedded alone (no padding); "
            "range -1 to 1; needs the model from the Hugging Face hub or a local folder"
        ),
    )

    def __init__(self, model: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        from transformers import AutoFeatureExtractor, WavLMForXVector

        source = str(model or os.environ.get(WAVLM_ENV) or DEFAULT_WAVLM_SV)
        try:
            self._features = AutoFeatureExtractor.from_pretrained(source)
            self._model = WavLMForXVector.from_pretrained(source).eval()
        except (OSError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            raise HybridbenchError(
                f"speaker-sim-wavlm cannot load {source!r} ({reason})",
                f"it downloads from the Hugging Face hub: run once online, or set {WAVLM_ENV} to a local folder "
                "holding config.json, preprocessor_config.json and the weights; HF_HUB_OFFLINE=1 fails at once",
            ) from exc
        revision = getattr(self._model.config, "_commit_hash", None) or "local"
        # The instance's spec names the model actually loaded, so provenance and the cache key follow it.
        self.spec = replace(
            type(self).spec, version=f"transformers {version('transformers')}; {source}@{revision}"
        )

    def embed(self, x: np.ndarray) -> np.ndarray:
        if not np.any(x):
            raise MetricFailure(f"{self.name}: the signal is all zeros")
        inputs = self._features(
            np.asarray(x, dtype=np.float32), sampling_rate=self.spec.sample_rate, return_tensors="pt"
        )
        with torch.inference_mode():
            return self._model(**inputs).embeddings[0].float().numpy()
