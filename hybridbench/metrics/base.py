"""The metric contract: a plugin that scores one degraded signal (against its reference) and says what it is.

A metric declares its semantics next to its code (versa's idea): name, version, which direction is better,
whether it needs the reference signal, and the sample rate it works at. A metric that cannot score an item
raises MetricFailure with the reason; the runner records it as a counted failure and never averages a
stand-in value (other harnesses silently write 0.0 or 1.0).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np


class MetricFailure(Exception):
    """This item cannot be scored by this metric (e.g. a silent reference for PESQ)."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    version: str
    higher_is_better: bool
    needs_reference: bool
    sample_rate: int
    unit: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Metric(ABC):
    """Scores a degraded signal; both signals arrive mono float32 at `spec.sample_rate`, equal lengths."""

    spec: ClassVar[MetricSpec]
    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec" in cls.__dict__:
            cls.name = cls.spec.name  # registries look plugins up by `name`

    @abstractmethod
    def score(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        """Return the score, or raise MetricFailure with a one-line reason."""

    def __call__(self, reference: np.ndarray, degraded: np.ndarray) -> float:
        value = self.score(reference, degraded)
        if not np.isfinite(value):
            raise MetricFailure(f"{self.name} returned a non-finite value ({value})")
        return float(value)
