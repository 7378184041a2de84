"""The set metrics: 1-NNA sanity (same distribution ≈ 50 %, noise ≈ 100 %, resampled copies ≈
0 %), JSD's grid votes and bounds, per-batch mode, the copy check, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.pointcloud.data import load_shapes
from polydit.pointcloud.metrics import (
    copy_check,
    evaluate,
    jensen_shannon,
    jsd,
    jsd_grid,
    occupancy_counts,
    set_metrics,
)

POINTS = 128  # small clouds keep exact EMD fast; the definitions do not depend on N
N = 50  # clouds per set: 1-NNA's standard error on 2 × 50 is 0.05


@pytest.fixture(scope="module")
def chairs() -> dict[str, torch.Tensor]:
    """De-normalised chairs: test, val (other shapes), the test shapes resampled, train."""
    sets = {
        "test": load_shapes("test", ["chair"], POINTS),
        "val": load_shapes("val", ["chair"], POINTS),
        "resampled": load_shapes("test", ["chair"], POINTS, sample_seed=1),
        "train": load_shapes("train", ["chair"], POINTS),
    }
    return {k: v.denormalised() for k, v in sets.items()}


def test_1nna_of_two_samples_of_one_distribution_is_near_half(chairs) -> None:
    result = evaluate(chairs["val"][:N], chairs["test"][:N], with_jsd=False)
    assert abs(result["1-NNA-CD"] - 0.5) <= 0.1
    assert abs(result["1-NNA-EMD"] - 0.5) <= 0.1
    assert result["COV-CD"] > 0.4 and result["COV-EMD"] > 0.4


def test_1nna_against_gaussian_noise_is_one(chairs) -> None:
    noise = torch.randn(20, POINTS, 3, generator=torch.Generator().manual_seed(0)) * 0.15
    result = evaluate(noise, chairs["test"][:20], with_jsd=False)
    assert result["1-NNA-CD"] == 1.0 and result["1-NNA-EMD"] == 1.0
    real = evaluate(chairs["val"][:20], chairs["test"][:20], distances=("cd",), with_jsd=False)
    assert result["MMD-CD"] > 3 * real["MMD-CD"]


def test_1nna_exposes_copies_of_the_reference(chairs) -> None:
    # the same surfaces sampled anew: each cloud's nearest neighbour is its own twin
    options = {"distances": ("cd",), "with_jsd": False}
    copies = evaluate(chairs["resampled"][:N], chairs["test"][:N], **options)
    fresh = evaluate(chairs["val"][:N], chairs["test"][:N], **options)
    assert copies["1-NNA-CD"] <= 0.2  # independent shapes give 0.5
    assert copies["COV-CD"] > fresh["COV-CD"] and copies["MMD-CD"] < fresh["MMD-CD"]


def test_grid_votes_go_to_the_nearest_grid_point_inside_the_ball() -> None:
    grid = jsd_grid(28)
    assert np.linalg.norm(grid, axis=1).max() <= 0.5 and len(grid) < 28**3
    points = (
        torch.rand(2, 300, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5
    )
    counts = occupancy_counts(points)
    nearest = ((points.reshape(-1, 1, 3).numpy() - grid[None]) ** 2).sum(-1).argmin(1)
    assert np.array_equal(counts, np.bincount(nearest, minlength=len(grid)))


def test_jsd_is_zero_for_equal_sets_and_one_for_disjoint_support() -> None:
    clouds = torch.rand(3, 200, 3, generator=torch.Generator().manual_seed(1)) - 0.5
    assert jsd(clouds, clouds.flip(0)) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon(np.array([3.0, 0.0, 0.0]), np.array([0.0, 1.0, 2.0])) == pytest.approx(
        1.0
    )
    left, right = torch.full((2, 10, 3), -0.2), torch.full((2, 10, 3), 0.2)
    assert jsd(left, right) == pytest.approx(1.0)


def test_per_batch_mode_averages_the_metrics_of_matched_batches(chairs) -> None:
    gen, ref = chairs["val"][:40], chairs["test"][:40]
    halves = [set_metrics(gen[s], ref[s], ("cd",)) for s in (slice(0, 20), slice(20, 40))]
    batched = evaluate(gen, ref, distances=("cd",), batch_size=20, with_jsd=False)
    for key in ("MMD-CD", "COV-CD", "1-NNA-CD"):
        assert batched[key] == pytest.approx((halves[0][key] + halves[1][key]) / 2)
    whole = evaluate(gen, ref, distances=("cd",), batch_size=40, with_jsd=False)
    assert whole == evaluate(gen, ref, distances=("cd",), with_jsd=False)


def test_copy_ratio_is_near_one_for_new_shapes_and_near_zero_for_copies(chairs) -> None:
    train = chairs["train"][:200]
    fresh = copy_check(chairs["val"], chairs["test"][:N], train)
    assert 0.8 <= fresh.ratio <= 1.25
    copies = copy_check(train[:N], chairs["test"][:N], train)
    assert copies.ratio < 1e-3 and copies.generated_median < 1e-6


def test_bad_sets_raise() -> None:
    good = torch.zeros(4, 16, 3)
    with pytest.raises(ConfigError, match="NaN"):
        evaluate(torch.full((4, 16, 3), float("nan")), good)
    with pytest.raises(ConfigError, match="at least 2 clouds"):
        evaluate(torch.zeros(1, 16, 3), good)
    with pytest.raises(ConfigError, match="distance must be"):
        evaluate(good, good, distances=("l2",))
