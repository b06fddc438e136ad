"""The distillation target (hybridcodec.target): position removed, standardised, and the same on any crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridcodec import measure, target
from hybridcodec.nn.losses import distillation_loss, explained_variance

FRAME_RATE = 25.0


def _files(rng: np.random.Generator, n: int, dim: int = 6) -> list[np.ndarray]:
    """Files whose first dimension carries a strong window-position signal on top of content noise."""
    out = []
    for _ in range(n):
        frames = int(rng.integers(40, 120))
        x = rng.normal(size=(frames, dim)) * np.arange(1, dim + 1)  # unequal scales per dimension
        x[:, 0] += 8 * np.sin(np.arange(frames) / 7.0)  # position, the same in every file
        out.append(x.astype(np.float32))
    return out


def test_depositioned_target_removes_the_position_signal_on_held_out_files():
    rng = np.random.default_rng(0)
    fit, held = _files(rng, 800), _files(rng, 50)
    raw_share = measure.position_share(fit, held, FRAME_RATE)
    assert raw_share > 0.2  # the sine: 32 of the ~124 units of raw variance
    stats = target.fit(fit, kind="depositioned", frame_rate=FRAME_RATE)
    share = measure.position_share(
        measure.processed(fit, stats, FRAME_RATE), measure.processed(held, stats, FRAME_RATE), FRAME_RATE
    )
    assert share < 0.02
    # Standardisation alone keeps the position signal (it only rescales it).
    standardized = target.fit(fit, kind="standardized", frame_rate=FRAME_RATE)
    kept = measure.position_share(
        measure.processed(fit, standardized, FRAME_RATE),
        measure.processed(held, standardized, FRAME_RATE),
        FRAME_RATE,
    )
    assert kept > 0.1


def test_standardized_target_has_zero_mean_and_unit_variance_on_the_fitting_files():
    rng = np.random.default_rng(1)
    fit = _files(rng, 100)
    stats = target.fit(fit, kind="standardized", frame_rate=FRAME_RATE)
    x = np.concatenate(measure.processed(fit, stats, FRAME_RATE))
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-3)
    assert stats["position_mean"].shape == (0, 6)


def test_a_crop_gets_the_target_of_its_frames_in_the_whole_file():
    rng = np.random.default_rng(2)
    files = _files(rng, 60)
    module = target.make_target(
        target.fit(files, kind="depositioned", frame_rate=FRAME_RATE), frame_rate=FRAME_RATE
    )
    whole = torch.from_numpy(files[0]).T[None]  # [1, D, F]
    full = module(whole, 0)
    starts = torch.tensor([0, 5, 17])
    crops = torch.stack([whole[0, :, s : s + 12] for s in starts.tolist()])
    expected = torch.stack([full[0, :, s : s + 12] for s in starts.tolist()])
    torch.testing.assert_close(module(crops, starts), expected)


def test_positions_past_the_window_repeat_and_past_the_longest_file_keep_the_last():
    module = target.TeacherTarget(dim=1, positions=3, window=4)
    module.position_mean.copy_(torch.tensor([[10.0], [20.0], [30.0]]))
    out = module(torch.zeros(1, 1, 6), 0)[0, 0]
    # window positions 0 1 2 3 0 1; position 3 was never seen, so it takes the last known mean
    assert out.tolist() == [-10.0, -20.0, -30.0, -30.0, -10.0, -20.0]


def test_statistics_change_the_sha256_the_checkpoint_records():
    a = target.TeacherTarget(dim=2)
    b = target.TeacherTarget(dim=2)
    assert a.sha256() == b.sha256()
    b.mean.fill_(1.0)
    assert a.sha256() != b.sha256()


def test_distillation_forms_give_known_values():
    t = torch.tensor([[[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]])  # [1, D=2, F=3]
    assert distillation_loss(t, t, "mse").item() == 0
    assert distillation_loss(t, t, "cosine").item() == pytest.approx(0, abs=1e-6)
    # d-axis: the cosine over time per dimension is 1 for a perfect prediction: -log sigmoid(1)
    assert distillation_loss(t, t, "d-axis").item() == pytest.approx(-np.log(1 / (1 + np.exp(-1))), rel=1e-6)
    # d-axis and cosine ignore scale, MSE does not
    assert distillation_loss(3 * t, t, "d-axis").item() == pytest.approx(
        distillation_loss(t, t, "d-axis").item()
    )
    assert distillation_loss(3 * t, t, "cosine").item() == pytest.approx(0, abs=1e-6)
    assert distillation_loss(3 * t, t, "mse").item() == pytest.approx(((2 * t) ** 2).mean().item())
    with pytest.raises(ValueError, match="unknown distillation form"):
        distillation_loss(t, t, "l1")


def test_explained_variance_is_one_for_a_perfect_and_zero_for_the_mean_prediction():
    t = torch.randn(4, 3, 10, generator=torch.Generator().manual_seed(0))
    assert explained_variance(t, t).item() == pytest.approx(1.0)
    mean = t.mean(dim=(0, 2), keepdim=True).expand_as(t)
    assert explained_variance(mean, t).item() == pytest.approx(0.0, abs=1e-6)
