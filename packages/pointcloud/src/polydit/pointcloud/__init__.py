"""polydit-pointcloud: 3D point-cloud generation with a DiT-3D (voxel patches, 3D window
attention, trilinear devoxelization) on procedural ShapeNet-like shapes or users' mesh folders,
with the PointFlow / PVD metrics.

``from polydit.pointcloud import PointCloudGenerator; PointCloudGenerator.from_pretrained(path)
.sample(4, label="chair", seed=0)`` → ``(4, N, 3)`` tensor; :func:`to_point_clouds` turns
clouds into ``trimesh.PointCloud`` objects. The generator loads lazily (with the DiT).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polydit.pointcloud.data import BUILTIN, PointCloudSet, load_dataset, load_shapes
from polydit.pointcloud.io import read_ply, read_shape, write_ply
from polydit.pointcloud.shapes import CATEGORIES

if TYPE_CHECKING:
    from polydit.pointcloud.pipeline import PointCloudGenerator, to_point_clouds

__all__ = [
    "BUILTIN",
    "CATEGORIES",
    "PointCloudGenerator",
    "PointCloudSet",
    "load_dataset",
    "load_shapes",
    "read_ply",
    "read_shape",
    "to_point_clouds",
    "write_ply",
]


def __getattr__(name: str) -> Any:
    if name in ("PointCloudGenerator", "to_point_clouds"):
        from polydit.pointcloud import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'polydit.pointcloud' has no attribute {name!r}")
