"""Voxelize point features into an R³ grid and read a grid back at the points (trilinear).

The pure-torch form of DiT-3D's / PVCNN's CUDA ops (``modules/voxelization.py``,
``avg_voxelize``, ``trilinear_devoxelize``):

* :func:`voxel_coordinates` maps each cloud into the grid: centre it on its mean, divide by
  twice its largest point norm, shift by ½ (so it lies in the unit cube) and scale by R,
  clamped to ``[0, R − 1]``. The result is continuous: ``(B, N, 3)`` in voxel units.
* :func:`voxelize` averages the features of the points whose *rounded* coordinates fall in each
  voxel (empty voxels are zero): ``(B, N, C) → (B, C, R, R, R)``, grid axes in (x, y, z) order.
* :func:`devoxelize` samples a grid at continuous coordinates by trilinear interpolation
  between the 8 surrounding voxel centres (``grid_sample`` with ``align_corners=True``):
  ``(B, C, R, R, R) → (B, N, C)``. At integer coordinates it returns the voxel values exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.core.errors import ConfigError


def voxel_coordinates(points: Tensor, resolution: int, eps: float = 1e-8) -> Tensor:
    """points (B, N, 3) → continuous voxel coordinates (B, N, 3) in [0, R − 1]."""
    centred = points - points.mean(dim=1, keepdim=True)
    radius = centred.norm(dim=-1).amax(dim=1)[:, None, None]  # (B, 1, 1)
    unit = centred / (2 * radius + eps) + 0.5
    return (unit * resolution).clamp(0, resolution - 1)


def voxelize(features: Tensor, coords: Tensor, resolution: int) -> Tensor:
    """Average `features` (B, N, C) of the points in each voxel of an R³ grid at `coords`
    (B, N, 3) in voxel units (rounded to the nearest voxel) → (B, C, R, R, R)."""
    b, n, c = features.shape
    if coords.shape != (b, n, 3):
        raise ConfigError(
            f"voxelize: coords {tuple(coords.shape)} do not match features {(b, n, c)}"
        )
    r = resolution
    cell = torch.round(coords).long().clamp_(0, r - 1)
    flat = (cell[..., 0] * r + cell[..., 1]) * r + cell[..., 2]  # (B, N)
    sums = features.new_zeros(b, r**3, c).scatter_add_(
        1, flat[..., None].expand(-1, -1, c), features
    )
    counts = features.new_zeros(b, r**3).scatter_add_(1, flat, features.new_ones(b, n))
    means = sums / counts.clamp_min(1)[..., None]
    return means.transpose(1, 2).reshape(b, c, r, r, r)


def devoxelize(grid: Tensor, coords: Tensor) -> Tensor:
    """Trilinear samples of `grid` (B, C, R, R, R) at `coords` (B, N, 3) in voxel units → (B, N, C)."""
    r = grid.shape[-1]
    if grid.shape[-3:] != (r, r, r):
        raise ConfigError(
            f"devoxelize: expected a cubic grid (B, C, R, R, R), got {tuple(grid.shape)}"
        )
    # grid_sample's last axis is (W, H, D) = our (z, y, x), scaled to [-1, 1]
    where = (coords.flip(-1) / (r - 1) * 2 - 1)[:, :, None, None, :].to(
        grid.dtype
    )  # (B, N, 1, 1, 3)
    out = F.grid_sample(grid, where, mode="bilinear", padding_mode="border", align_corners=True)
    return out[:, :, :, 0, 0].transpose(1, 2)
