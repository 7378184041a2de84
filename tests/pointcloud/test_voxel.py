"""Voxelize / devoxelize: the grid mapping, exact averages, exact trilinear interpolation of
linear fields, a bounded round trip, gradients."""

from __future__ import annotations

import torch

from polydit.pointcloud.voxel import devoxelize, voxel_coordinates, voxelize

R = 8


def test_coordinates_centre_and_scale_the_cloud_into_the_grid() -> None:
    g = torch.Generator().manual_seed(0)
    half = torch.randn(3, 250, 3, generator=g, dtype=torch.float64)
    points = torch.cat([half, -half], dim=1)  # mean 0, the twin of p is -p
    coords = voxel_coordinates(points, R, eps=0)
    assert coords.min() >= 0 and coords.max() <= R - 1
    torch.testing.assert_close(voxel_coordinates(points * 5 + 2, R, eps=0), coords)
    # unclamped, twins sit symmetrically about the grid centre R/2
    a, b = coords[:, :250], coords[:, 250:]
    free = ((a < R - 1) & (b < R - 1)).all(-1)
    torch.testing.assert_close((a + b)[free], torch.full_like(a[free], float(R)))
    # the farthest point lands R/2 from the centre on its clamp-free side
    far = half.norm(dim=-1).argmax(dim=1)
    for k in range(3):
        low = torch.minimum(a[k, far[k]], b[k, far[k]])
        torch.testing.assert_close((low - R / 2).norm(), torch.tensor(R / 2, dtype=torch.float64))


def test_voxelize_averages_the_points_of_each_voxel() -> None:
    coords = torch.tensor([[[1.2, 0.9, 3.4], [0.8, 1.1, 2.6], [5.0, 6.0, 7.0]]])
    features = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [7.0, 8.0]]])
    grid = voxelize(features, coords, R)  # (1, 2, R, R, R)
    assert grid.shape == (1, 2, R, R, R)
    torch.testing.assert_close(grid[0, :, 1, 1, 3], torch.tensor([2.0, 1.0]))
    torch.testing.assert_close(grid[0, :, 5, 6, 7], torch.tensor([7.0, 8.0]))
    assert grid.abs().sum() == 2 + 1 + 7 + 8  # every other voxel is empty


def test_devoxelize_is_exact_at_voxel_centres_and_for_linear_fields() -> None:
    g = torch.Generator().manual_seed(1)
    grid = torch.randn(2, 4, R, R, R, generator=g, dtype=torch.float64)
    cells = torch.randint(0, R, (2, 50, 3), generator=g)
    expected = torch.stack(
        [grid[b][:, cells[b, :, 0], cells[b, :, 1], cells[b, :, 2]].T for b in range(2)]
    )
    torch.testing.assert_close(devoxelize(grid, cells.double()), expected)
    # trilinear interpolation reproduces an affine field a·(x, y, z) + c exactly
    axes = torch.meshgrid(*(torch.arange(R, dtype=torch.float64),) * 3, indexing="ij")
    a = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    field = (a[0] * axes[0] + a[1] * axes[1] + a[2] * axes[2] + 1.0)[None, None]
    where = torch.rand(1, 200, 3, generator=g, dtype=torch.float64) * (R - 1)
    torch.testing.assert_close(devoxelize(field, where)[0, :, 0], where[0] @ a + 1.0)


def test_round_trip_of_coordinates_in_a_dense_ball_is_within_a_voxel() -> None:
    g = torch.Generator().manual_seed(2)
    points = torch.randn(1, 40000, 3, generator=g)
    points = (
        points / points.norm(dim=-1, keepdim=True) * torch.rand(1, 40000, 1, generator=g) ** (1 / 3)
    )
    coords = voxel_coordinates(points, R)
    grid = voxelize(coords, coords, R)  # each voxel holds the mean coordinate of its points
    back = devoxelize(grid, coords)
    inner = ((coords - R / 2).norm(dim=-1) < R / 2 - 2)[0]  # all 8 neighbours occupied
    assert inner.sum() > 1000
    error = (back - coords)[0, inner].abs()
    # trilinear weights reproduce the point from the voxel centres, and each voxel mean lies
    # within ½ of its centre: the error is at most ½ voxel, and small when voxels are dense
    assert 0 < error.max() <= 0.5
    assert error.mean() < 0.02


def test_gradients_reach_the_features() -> None:
    features = torch.randn(1, 30, 3, requires_grad=True)
    coords = voxel_coordinates(features.detach(), R)
    devoxelize(voxelize(features, coords, R), coords).sum().backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
