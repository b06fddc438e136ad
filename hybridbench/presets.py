"""Named benchmarks: `hybridbench run --preset NAME` runs what the preset says, unless a flag says otherwise.

A preset is declared in the `hybridbench.presets` entry-point group, like codecs and suites, by whichever
package defines the benchmark (a replication, a lab's standard table). Besides the run's settings it may give
`pages`: a function called after the tables with what the run produced (`PresetRun`), returning the pages it
wrote (a replication's claims, say); the harness prints them and lists them with the tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from hybridbench.registry import Registry
from hybridbench.store import ResultRow


@dataclass(frozen=True)
class PresetRun:
    """What a finished run hands a preset's `pages`."""

    rows: list[ResultRow]
    out: Path
    metrics: list[str]
    device: torch.device
    unavailable: dict[str, str]  # codecs skipped for want of weights, with the hint
    limit_description: str  # "first 10 items of asterisk-en-test, 2 of the others", for the page's caveat


@dataclass(frozen=True)
class RunPreset:
    """A benchmark's settings; each is a value the matching `hybridbench run` flag accepts."""

    name: str
    description: str
    suites: str
    asr: str
    depths: str  # "1,12" or "all"
    metrics: str
    out: str
    codecs: str | None = None  # None: every registered codec whose weights are here
    limit: str | None = None
    timing_repeats: int = 3
    # Add each codec's full depth to `depths`, and skip codecs without weights and suites without data (saying
    # so) instead of stopping: a preset is meant to run on whatever this machine has.
    include_full_depth: bool = True
    pages: Callable[[PresetRun], list[Path]] | None = None


PRESETS: Registry[RunPreset] = Registry(
    "preset", group="hybridbench.presets", list_hint="hybridbench presets"
)
