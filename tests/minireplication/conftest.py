"""Per-test set-up of the replication tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread for these tests: on a shared 2-core machine, two OpenMP threads fighting other
    processes made a tiny training step 10x slower (8 s vs 0.7 s) than one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
