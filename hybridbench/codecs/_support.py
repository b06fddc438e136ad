"""Glue shared by the adapters of published codecs: optional imports and weight status."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from hybridbench import weights as W
from hybridbench.codecs.base import WeightsStatus
from hybridbench.errors import HybridbenchError


def installed(module: str) -> bool:
    """Whether an optional package can be imported (without importing it)."""
    if module in sys.modules:
        return sys.modules[module] is not None  # None: imports of it are blocked
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, pip: str, codec: str) -> ModuleType:
    """Import an optional package, or raise a one-line error with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise HybridbenchError(f"{codec} needs the {module!r} package ({exc})", f"pip install {pip}") from exc


def weights_status(codec: str, module: str, pip: str, weights: str | None) -> WeightsStatus:
    """Package first (no package, no codec), then the checkpoint files (`--weights` or the cache)."""
    if not installed(module):
        return WeightsStatus(False, None, f"pip install {pip}")
    available, location, hint, sha = W.status_of(codec, weights)
    return WeightsStatus(available, location, hint, sha)
