"""Chamfer and kNN against brute force, exact EMD against scipy's assignment solver."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from polydit.core.errors import ConfigError
from polydit.pointcloud.distances import chamfer, emd, knn, pairwise_chamfer, pairwise_emd


def clouds(b: int, n: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(b, n, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def brute_chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    d = ((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)  # (B, N, M)
    return d.min(2).values.mean(1) + d.min(1).values.mean(1)


def test_chamfer_equals_brute_force_for_unequal_sizes_across_row_blocks() -> None:
    a, b = clouds(3, 150), clouds(3, 97, seed=1)  # 150 rows: three blocks of 64
    torch.testing.assert_close(chamfer(a, b), brute_chamfer(a, b))
    torch.testing.assert_close(chamfer(a, b), chamfer(b, a))
    assert chamfer(a, a).abs().max() < 1e-12


def test_chamfer_float32_is_close_to_float64() -> None:
    a, b = clouds(2, 2048), clouds(2, 2048, seed=1)
    torch.testing.assert_close(
        chamfer(a.float(), b.float()).double(), brute_chamfer(a, b), rtol=1e-4, atol=0
    )


def test_chamfer_is_differentiable() -> None:
    a = clouds(1, 20).requires_grad_()
    chamfer(a, clouds(1, 30, seed=1)).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_knn_equals_a_full_sort() -> None:
    q, p = clouds(2, 40), clouds(2, 60, seed=1)
    d, i = knn(q, p, 5)
    full = ((q[:, :, None] - p[:, None]) ** 2).sum(-1).sort(dim=-1)
    torch.testing.assert_close(d, full.values[..., :5])
    assert torch.equal(i, full.indices[..., :5])
    with pytest.raises(ConfigError, match="k=61"):
        knn(q, p, 61)


def test_pairwise_chamfer_matrices_equal_pair_by_pair_values() -> None:
    x, y = clouds(5, 64), clouds(4, 48, seed=1)
    cross = pairwise_chamfer(x, y)
    expected = torch.stack([brute_chamfer(x[i : i + 1].expand(4, -1, -1), y) for i in range(5)])
    torch.testing.assert_close(cross, expected)
    square = pairwise_chamfer(x)
    assert torch.equal(square, square.T) and torch.equal(
        square.diag(), torch.zeros(5, dtype=torch.float64)
    )
    torch.testing.assert_close(square[1, 3], brute_chamfer(x[1:2], x[3:4])[0])


@pytest.mark.parametrize("n", [7, 64, 300])
def test_emd_equals_the_optimal_assignment(n: int) -> None:
    a, b = clouds(1, n, seed=n)[0].numpy(), (clouds(1, n, seed=n + 1)[0] * 0.5 + 1).numpy()
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    assert emd(a, b) == pytest.approx(cost[rows, cols].mean(), rel=1e-12)


def test_emd_of_a_permuted_cloud_is_zero_and_pairwise_is_symmetric() -> None:
    x = clouds(3, 32).float()
    assert emd(x[0], x[0][torch.randperm(32)]) == pytest.approx(0.0, abs=1e-12)
    square = pairwise_emd(x)
    assert torch.equal(square, square.T)
    assert square[0, 2] == pytest.approx(emd(x[0], x[2]))
    assert pairwise_emd(x[:1], x[1:]).shape == (1, 2)


def test_emd_rejects_unequal_sizes_and_too_many_points() -> None:
    with pytest.raises(ConfigError, match="same shape"):
        emd(np.zeros((5, 3)), np.zeros((6, 3)))
    with pytest.raises(ConfigError, match="2048"):
        emd(np.zeros((2049, 3)), np.zeros((2049, 3)))
