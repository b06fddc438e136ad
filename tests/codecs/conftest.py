"""Shared fixtures for the codec adapter tests: an isolated, offline weights cache."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Never read or write the user's real cache, never touch the network.
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HYBRIDBENCH_OFFLINE", "1")
    torch.set_num_threads(2)
