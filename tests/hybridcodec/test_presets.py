"""Presets: the paper's size, frame rates and codebooks; mini is CPU-sized."""

from __future__ import annotations

import pytest
import torch

from hybridcodec.config import PRESETS, TrainConfig, preset
from hybridcodec.model import HybridCodec

PAPER_PARAMS = 159.62e6


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def paper_model() -> HybridCodec:
    return HybridCodec(config=preset("paper").model).eval()


def test_paper_parameter_count(paper_model: HybridCodec):
    total = count(paper_model)
    inference = total - count(paper_model.semantic_head)  # the semantic head only serves the training loss
    assert abs(inference - PAPER_PARAMS) / PAPER_PARAMS < 0.005, inference
    assert inference == 159_509_922
    assert total == 201_529_762  # + 5 ConvNeXt blocks and a 1x1 conv to the teacher space (training only)


def test_paper_facts_and_shapes(paper_model: HybridCodec):
    c = paper_model.config
    assert (c.sample_rate, c.hop_length, c.frame_rate) == (24000, 960, 25.0)
    assert c.codebook_sizes == (16384,) + (1024,) * 11
    assert len(paper_model.semantic_stream.blocks) == len(paper_model.acoustic_stream.blocks) == 5
    wav = torch.randn(1, 1, 960 * 3) * 0.1
    codes = paper_model.encode(wav)
    assert codes.shape == (1, 12, 3)
    assert paper_model.decode(codes[:, :1]).shape == (1, 1, 960 * 3)


@pytest.mark.parametrize("variant", ["dac", "dac-distill", "dualcodec"])
def test_paper_baselines_share_the_frame_rate_and_codebooks(variant: str):
    cfg = preset("paper", variant=variant).model
    model = HybridCodec(config=cfg).eval()
    teacher = torch.randn(1, cfg.teacher_dim, 2) if cfg.needs_teacher_at_inference else None
    codes = model.encode(torch.randn(1, 1, 960 * 2) * 0.1, teacher=teacher)
    assert codes.shape == (1, 12, 2)
    assert cfg.codebook_sizes == preset("paper").model.codebook_sizes


def test_mini_is_cpu_sized():
    n = count(HybridCodec(config=preset("mini").model))
    assert 1e6 < n < 10e6, n


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_json_round_trip(name: str):
    cfg = preset(name, variant="dac-distill")
    assert TrainConfig.from_json(cfg.to_json()) == cfg
