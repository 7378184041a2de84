"""`VoxelCodec`: point clouds ↔ the DiT-3D voxel-patch tokens, and the clouds' normalisation.

DiT-3D diffuses the *points*: the process runs on ``(B, N, 3)`` clouds (normalised per category,
:mod:`.data`), and the network voxelizes its noisy input at every evaluation. So the core
``Codec`` face of this class is the identity on points (``encode`` / ``decode`` /
``template``), and the voxel patches are the network's input and output layer:

* :meth:`VoxelCodec.patchify` — points (B, N, 3) → voxel coordinates (:func:`.voxel.voxel_coordinates`),
  the points' xyz averaged into an R³ grid (features and coordinates are both the points, as in
  DiT-3D), cut into non-overlapping p³ patches: ``Tokens(x (B, T, p³·3), pos (B, T, 3))`` with
  ``T = (R/p)³`` in row-major (x, y, z) patch order and integer patch positions.
* :meth:`VoxelCodec.unpatchify` — token outputs (B, T, p³·C) → the R³ grid → trilinear samples at
  each point's voxel coordinate (:func:`.voxel.devoxelize`): (B, N, C).

The codec also carries what a generator needs besides the weights: the class names, each
class's PointFlow statistics (mean (3,) and std) to de-normalise samples, and the data name.
Equality (what a warm start checks) is the token layout and point count alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from einops import rearrange
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens
from polydit.pointcloud.voxel import devoxelize, voxel_coordinates, voxelize


@dataclass(frozen=True)
class VoxelCodec(JsonConfig):
    """num_points N per cloud, voxel resolution R and patch size p (p divides R).

    class_names: label i is class_names[i]; class_mean / class_std: each class's normalisation
    (mean (x, y, z) and scalar std, :mod:`.data`); data: the training set's name.
    """

    num_points: int = 2048
    resolution: int = 16
    patch: int = 2
    class_names: tuple[str, ...] = field(default=(), compare=False)
    class_mean: tuple[tuple[float, float, float], ...] = field(default=(), compare=False)
    class_std: tuple[float, ...] = field(default=(), compare=False)
    data: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("num_points", "resolution", "patch"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"codec {name} must be a positive integer, got {value!r}")
        if self.resolution % self.patch:
            raise ConfigError(
                f"codec resolution={self.resolution} is not a multiple of patch={self.patch}"
            )
        k = len(self.class_names)
        if len(self.class_mean) not in (0, k) or len(self.class_std) not in (0, k):
            raise ConfigError(
                f"codec: class_mean ({len(self.class_mean)}) and class_std "
                f"({len(self.class_std)}) need one entry per class ({k}) or none"
            )

    # --- the voxel-patch layout -----------------------------------------------------------
    @property
    def grid(self) -> tuple[int, int, int]:
        """(R/p, R/p, R/p): the token grid."""
        side = self.resolution // self.patch
        return side, side, side

    @property
    def num_tokens(self) -> int:
        return self.grid[0] ** 3

    def token_dim(self, channels: int = 3) -> int:
        """Channels of a patch token: p³ · channels."""
        return self.patch**3 * channels

    def positions(self) -> Tensor:
        """(T, 3) float integer (i, j, k) patch coordinates, row-major."""
        axes = torch.meshgrid(
            *(torch.arange(g, dtype=torch.float32) for g in self.grid), indexing="ij"
        )
        return torch.stack([a.flatten() for a in axes], dim=-1)

    def patchify(self, points: Tensor) -> tuple[Tokens, Tensor]:
        """points (B, N, 3) → (Tokens(x (B, T, p³·3), pos (B, T, 3)), voxel coordinates (B, N, 3))."""
        coords = voxel_coordinates(points, self.resolution)
        grid = voxelize(points, coords, self.resolution)  # (B, 3, R, R, R)
        p = self.patch
        x = rearrange(grid, "b c (i p) (j q) (k r) -> b (i j k) (p q r c)", p=p, q=p, r=p)
        pos = self.positions().to(points.device).expand(points.shape[0], -1, -1)
        return Tokens(x, pos), coords

    def unpatchify(self, x: Tensor, coords: Tensor) -> Tensor:
        """Token outputs x (B, T, p³·C) read at voxel coordinates (B, N, 3) → (B, N, C)."""
        i = self.grid[0]
        p = self.patch
        grid = rearrange(x, "b (i j k) (p q r c) -> b c (i p) (j q) (k r)", i=i, j=i, p=p, q=p, r=p)
        return devoxelize(grid, coords)

    # --- the core Codec face: the process runs on normalised points -----------------------
    def encode(self, points: Tensor) -> Tokens:
        """Normalised clouds (B, N, 3) → Tokens(x (B, N, 3)) (a set: no positions)."""
        if points.ndim != 3 or points.shape[1:] != (self.num_points, 3):
            raise ConfigError(
                f"expected clouds of shape (B, {self.num_points}, 3), got {tuple(points.shape)}"
            )
        return Tokens(points)

    def decode(self, x: Tensor, template: Tokens) -> Tensor:
        """Sampled x (B, N, 3) → normalised clouds (B, N, 3)."""
        return x

    def template(self, num: int) -> Tokens:
        return Tokens(torch.zeros(num, self.num_points, 3))

    def denormalise(self, points: Tensor, labels: Tensor) -> Tensor:
        """Normalised clouds (B, N, 3) of classes `labels` (B,) → original units."""
        if not self.class_std:
            return points
        mean = torch.tensor(self.class_mean, dtype=points.dtype, device=points.device)[labels]
        std = torch.tensor(self.class_std, dtype=points.dtype, device=points.device)[labels]
        return points * std[:, None, None] + mean[:, None, :]
