"""Shared test setup: small thread counts (CI has 2 cores) and the synthetic English items, rendered once."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

# Speech, feature caches and tiny trained runs shared by tests/hybridcodec and tests/minireplication.
pytest_plugins = ["model_fixtures"]

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

torch.set_num_threads(2)
warnings.filterwarnings("ignore", message=r".*weight_norm.* is deprecated", category=FutureWarning)


@pytest.fixture(scope="session")
def synthetic_en_items():
    from hybridbench.suites.synthetic import SyntheticEnglish

    return SyntheticEnglish().items()


@pytest.fixture(scope="session")
def small_run_settings() -> dict:
    """The shared small run's settings (RunConfig fields but `out`): the identity (ASR floor), the shipped dac
    mini (a residual codec: depths 1, 2, 3 and its full 12) and G.722 on 4 synthetic English items with Whisper
    tiny.en, PESQ, STOI and speaker similarity, decoded audio kept for 2 items."""
    return dict(
        codecs=["dac-mini", "g722"],
        suites=["synthetic-en"],
        depths=[1, 2, 3],
        include_full_depth=True,
        asr="whisper-tiny.en",
        limit=4,
        metrics=["pesq-wb", "stoi", "speaker-sim-resemblyzer"],
        timing_repeats=1,
        listen=2,
    )


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, small_run_settings):
    """A real run shared by the report, rescore, verify and batching tests (`small_run_settings`). Returns the
    run folder."""
    from hybridbench.run_plan import RunConfig
    from hybridbench.runner import Runner

    out = tmp_path_factory.mktemp("small-run")
    Runner(RunConfig(**small_run_settings, out=out)).run()
    return out


@pytest.fixture(scope="session")
def benchmark_script():
    """Imports a script of benchmarks/ by its name: they are scripts run by path, not a package."""

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def fresh_python():
    """Runs (dedented) code in a new interpreter and fails the test with its stderr if the code fails: for what
    depends on which modules a process has imported."""

    def run(code: str) -> None:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]

    return run
