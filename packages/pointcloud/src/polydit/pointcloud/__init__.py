"""polydit-pointcloud: 3D point-cloud generation with a DiT-3D (voxel patches, 3D window
attention, trilinear devoxelization) on procedural ShapeNet-like shapes or users' mesh folders,
with the PointFlow / PVD metrics.

``from polydit.pointcloud import PointCloudGenerator; PointCloudGenerator.from_pretrained(path)
.sample(4, label="chair", seed=0)`` → :class:`PointCloudSamples` (``.points`` (4, N, 3) float32
numpy, ``.labels`` class names, ``.to_trimesh()``); :func:`to_point_clouds` turns any (B, N, 3)
clouds into ``trimesh.PointCloud`` objects. Every name loads lazily, so importing the package
(and its CLI) pulls no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from polydit.pointcloud.data import BUILTIN, PointCloudSet, load_dataset, load_shapes
    from polydit.pointcloud.io import read_ply, read_shape, write_ply
    from polydit.pointcloud.pipeline import PointCloudGenerator, PointCloudSamples, to_point_clouds
    from polydit.pointcloud.shapes import CATEGORIES

#: public name → the module defining it, imported on first use (the CLI imports no torch)
_HOMES = {
    "BUILTIN": "data",
    "PointCloudSet": "data",
    "load_dataset": "data",
    "load_shapes": "data",
    "read_ply": "io",
    "read_shape": "io",
    "write_ply": "io",
    "PointCloudGenerator": "pipeline",
    "PointCloudSamples": "pipeline",
    "to_point_clouds": "pipeline",
    "CATEGORIES": "shapes",
}
__all__ = [
    "BUILTIN",
    "CATEGORIES",
    "PointCloudGenerator",
    "PointCloudSamples",
    "PointCloudSet",
    "load_dataset",
    "load_shapes",
    "read_ply",
    "read_shape",
    "to_point_clouds",
    "write_ply",
]


__getattr__ = lazy_attributes(__name__, _HOMES)
