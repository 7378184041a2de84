"""Point-cloud files: PLY written atomically, and shapes read from PLY / OBJ / OFF / STL.

* :func:`write_ply` writes ``(N, 3)`` points as a binary little-endian PLY with one ``vertex``
  element of float32 ``x y z`` (what MeshLab, Open3D, CloudCompare and trimesh read).
* :func:`read_ply` reads every vertex of a PLY point cloud (ASCII or binary) back as
  ``(N, 3)`` float32.
* :func:`read_shape` turns any supported file into exactly ``num_points`` points: a mesh (or a
  scene of meshes) is sampled uniformly on its surface (area-weighted), a point cloud is
  subsampled without replacement. Both draws come from `seed`, so a file always gives the same
  points.

Every problem raises :class:`BadShapeFile` (a DataError) naming the file and the reason:
unreadable or corrupt, no geometry (empty), NaN or infinite coordinates, zero surface area, or
a point cloud with fewer points than asked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from polydit.core.atomic import atomic_write
from polydit.core.errors import DataError

SHAPE_SUFFIXES = (".ply", ".obj", ".off", ".stl")


class BadShapeFile(DataError):
    """A shape file that cannot give points; `reason` is a short tag ("empty", "nan", ...)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def write_ply(path: str | Path, points: np.ndarray) -> Path:
    """Write ``(N, 3)`` points to `path` as a binary little-endian float32 PLY, atomically."""
    xyz = np.ascontiguousarray(np.asarray(points, dtype="<f4"))
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise DataError(f"{path}: expected points of shape (N, 3), got {xyz.shape}")
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment polydit-pointcloud\n"
        f"element vertex {len(xyz)}\nproperty float x\nproperty float y\nproperty float z\n"
        "end_header\n"
    )
    return atomic_write(path, lambda f: (f.write(header.encode("ascii")), f.write(xyz.tobytes())))


def read_ply(path: str | Path) -> np.ndarray:
    """Every vertex of a PLY file as ``(N, 3)`` float32 (faces, if any, are ignored)."""
    path = Path(path)
    if path.suffix.lower() != ".ply":
        raise BadShapeFile(f"{path}: not a PLY file", "not a shape file")
    geometry = _load(path)
    vertices = _vertices(geometry)
    _check_vertices(path, vertices)
    return _as_float32(path, vertices)


def read_shape(path: str | Path, num_points: int, seed: int = 0) -> np.ndarray:
    """`num_points` points ``(num_points, 3)`` float32 from a PLY / OBJ / OFF / STL file (see the
    module docstring for how meshes and point clouds are turned into points)."""
    path = Path(path)
    if path.suffix.lower() not in SHAPE_SUFFIXES:
        raise BadShapeFile(
            f"{path}: not a shape file (expected {', '.join(SHAPE_SUFFIXES)})", "not a shape file"
        )
    geometry = _load(path)
    rng = np.random.default_rng(seed)
    mesh = _as_mesh(geometry)
    if mesh is not None:
        _check_vertices(path, np.asarray(mesh.vertices))
        _check_faces(path, np.asarray(mesh.faces), len(mesh.vertices))
        if not mesh.area > 0:
            raise BadShapeFile(f"{path}: the mesh has zero surface area", "empty")
        points, _ = trimesh.sample.sample_surface(mesh, num_points, seed=rng)
        return _as_float32(path, points)
    vertices = _vertices(geometry)
    _check_vertices(path, vertices)
    if len(vertices) < num_points:
        raise BadShapeFile(
            f"{path}: the point cloud has {len(vertices)} points, fewer than the {num_points} "
            "asked",
            "too few points",
        )
    chosen = rng.choice(len(vertices), num_points, replace=False)
    return _as_float32(path, vertices[np.sort(chosen)])


def _load(path: Path) -> trimesh.parent.Geometry:
    try:
        return trimesh.load(path, process=False)
    except Exception as e:  # trimesh's parsers raise assorted types on corrupt input
        message = f"{path}: unreadable or corrupt ({type(e).__name__}: {e})"
        raise BadShapeFile(message, "corrupt") from None


def _as_mesh(geometry: trimesh.parent.Geometry) -> trimesh.Trimesh | None:
    """The geometry's triangles as one mesh, or None when it has no faces (a point cloud)."""
    if isinstance(geometry, trimesh.Scene):
        meshes = [g for g in geometry.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        return trimesh.util.concatenate(meshes) if meshes else None
    if isinstance(geometry, trimesh.Trimesh) and len(geometry.faces):
        return geometry
    return None


def _vertices(geometry: trimesh.parent.Geometry) -> np.ndarray:
    if isinstance(geometry, trimesh.Scene):
        parts = [np.asarray(g.vertices) for g in geometry.dump() if hasattr(g, "vertices")]
        return np.concatenate(parts) if parts else np.zeros((0, 3))
    return np.asarray(getattr(geometry, "vertices", np.zeros((0, 3))), dtype=np.float64)


def _check_vertices(path: Path, vertices: np.ndarray) -> None:
    if vertices.size == 0:
        raise BadShapeFile(f"{path}: no vertices (an empty shape)", "empty")
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise BadShapeFile(
            f"{path}: vertices of shape {vertices.shape}, expected 3 coordinates (x y z) each",
            "corrupt",
        )
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices)).any(axis=1).sum())
        raise BadShapeFile(
            f"{path}: {bad} of {len(vertices)} vertices have NaN or infinite coordinates", "nan"
        )


def _check_faces(path: Path, faces: np.ndarray, num_vertices: int) -> None:
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise BadShapeFile(
            f"{path}: faces of shape {faces.shape}, expected triangles (3 vertex indices)",
            "corrupt",
        )
    bad = faces[(faces < 0) | (faces >= num_vertices)]
    if bad.size:
        raise BadShapeFile(
            f"{path}: a face refers to vertex {int(bad[0])} of {num_vertices} vertices",
            "corrupt",
        )


def _as_float32(path: Path, points: np.ndarray) -> np.ndarray:
    """`points` as float32, or BadShapeFile if a coordinate overflows it (|x| > 3.4e38)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = points.astype(np.float32)
    if not np.isfinite(out).all():
        raise BadShapeFile(f"{path}: coordinates too large for float32 (|x| > 3.4e38)", "nan")
    return out
