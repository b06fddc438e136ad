"""Shared fixtures for the codec adapter tests: an isolated, offline weights cache."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Never read or write the user's real cache, never touch the network.
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HYBRIDBENCH_OFFLINE", "1")
    # Hub checkpoints are also looked for in the Hugging Face cache another tool may have filled.
    # (the submodule imported by name: the package loads it lazily, so a test file run alone would not have it)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-hub")))
    torch.set_num_threads(2)
