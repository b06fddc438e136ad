"""Timing codec calls the way a real-time factor needs: warmed up, device-synchronised, median of repeats."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch

T = TypeVar("T")


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so the clock measures the computation, not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass(frozen=True)
class Timed:
    median_s: float
    runs_s: tuple[float, ...]


def timed(fn: Callable[[], T], *, device: torch.device, repeats: int = 1) -> tuple[T, Timed]:
    """Run `fn` `repeats` times; return the last result and the median wall time (device synchronised)."""
    runs = []
    result = None
    for _ in range(max(1, repeats)):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        runs.append(time.perf_counter() - start)
    return result, Timed(statistics.median(runs), tuple(runs))  # type: ignore[return-value]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


class StageClock:
    """Wall seconds a run spends in each of its stages (read, encode, decode, ASR, each metric, store), summed
    over calls: what the harness benchmark reports, and where a slow run's time goes. Costs two clock reads per
    stage; not device-synchronised (a GPU stage's queued work shows up in the next synchronising stage)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.calls[name] += 1
