"""Shared test setup: small thread counts (CI has 2 cores) and the synthetic English items, rendered once."""

from __future__ import annotations

import warnings

import pytest
import torch

# Speech, feature caches and tiny trained runs shared by tests/hybridcodec and tests/minireplication.
pytest_plugins = ["model_fixtures"]

torch.set_num_threads(2)
warnings.filterwarnings("ignore", message=r".*weight_norm.* is deprecated", category=FutureWarning)


@pytest.fixture(scope="session")
def synthetic_en_items():
    from hybridbench.suites.synthetic import SyntheticEnglish

    return SyntheticEnglish().items()
