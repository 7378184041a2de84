"""Parametric mesh parts (boxes, rods, disks, frusta, ellipsoids, wings) assembled into one mesh.

The parts are trimesh's watertight primitives (``trimesh.creation``), built once at unit size and
then scaled, bent and placed with numpy, which keeps building a whole shape to a few
milliseconds. Coordinates are y-up. Parts may overlap (as the parts of ShapeNet models do).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import trimesh

SECTIONS = 16  # facets around every round part


@cache
def _unit(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) float64 vertices and (F, 3) int64 faces of a unit primitive:
    "box" the cube [-½, ½]³, "cylinder" radius 1 and height 1 along y centred at 0,
    "sphere" the unit icosphere."""
    if kind == "box":
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    elif kind == "cylinder":
        mesh = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=SECTIONS)
        mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0)))
    else:
        mesh = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)


def _rotation_y_to(direction: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking the +y axis onto the unit vector `direction` (Rodrigues)."""
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(y, direction)
    s, c = np.linalg.norm(axis), float(np.dot(y, direction))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * skew + (1 - c) * skew @ skew


class Parts:
    """A growing list of placed parts; :meth:`mesh` joins them into one trimesh."""

    def __init__(self) -> None:
        self._vertices: list[np.ndarray] = []
        self._faces: list[np.ndarray] = []

    def add(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        offset = sum(len(v) for v in self._vertices)
        self._vertices.append(vertices)
        self._faces.append(faces + offset)

    def box(
        self, size: tuple[float, float, float], center: tuple[float, float, float], taper=1.0
    ) -> None:
        """An axis-aligned box of `size` (x, y, z) at `center`; its top face is scaled in x and
        z by `taper` (a car cabin, a lamp base)."""
        v, f = _unit("box")
        v = v * np.asarray(size)
        top = v[:, 1] > 0
        v[top, 0] *= taper
        v[top, 2] *= taper
        self.add(v + np.asarray(center), f)

    def rod(self, start, end, radius: float, end_radius: float | None = None) -> None:
        """A cylinder of `radius` from point `start` to point `end`; with `end_radius` a
        truncated cone whose radius at `end` is that."""
        start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        length = float(np.linalg.norm(end - start))
        v, f = _unit("cylinder")
        ring = np.where(v[:, 1] > 0, radius if end_radius is None else end_radius, radius)
        v = v * np.stack([ring, np.full_like(ring, length), ring], axis=1)
        v = v @ _rotation_y_to((end - start) / length).T
        self.add(v + (start + end) / 2, f)

    def frustum(self, bottom: float, top: float, height: float, center) -> None:
        """A vertical truncated cone (radii `bottom` and `top`) of `height` centred at `center`;
        ``bottom == top`` is a disk or post."""
        center = np.asarray(center, dtype=np.float64)
        half = np.array([0.0, height / 2, 0.0])
        self.rod(center - half, center + half, bottom, top)

    def ellipsoid(self, radii: tuple[float, float, float], center) -> None:
        v, f = _unit("sphere")
        self.add(v * np.asarray(radii) + np.asarray(center), f)

    def wing(
        self,
        span: float,
        chord: float,
        thickness: float,
        center,
        sweep: float = 0.0,
        dihedral: float = 0.0,
        taper: float = 1.0,
        vertical: bool = False,
    ) -> None:
        """A flat plate spanning x ∈ [-span/2, span/2] (both sides) with chord along z: the
        leading edge moves back by ``tan(sweep)·|x|``, rises by ``tan(dihedral)·|x|`` and the
        chord shrinks linearly to ``taper·chord`` at the tips. `vertical`: a fin standing on
        `center`, spanning y ∈ [0, span/2], built as one side of the plate turned up."""
        v, f = _unit("box")
        v = v * np.array([span, thickness, chord])
        if vertical:
            v[:, 0] = (v[:, 0] + span / 2) / 2  # one side only: x ∈ [0, span/2]
        reach = np.abs(v[:, 0]) / (span / 2)  # 0 at the root, 1 at the tip
        v[:, 2] = v[:, 2] * (1 - (1 - taper) * reach) + np.tan(sweep) * np.abs(v[:, 0])
        v[:, 1] += np.tan(dihedral) * np.abs(v[:, 0])
        if vertical:
            v = v[:, [1, 0, 2]]  # the span now runs up y
        self.add(v + np.asarray(center), f)

    def mesh(self) -> trimesh.Trimesh:
        """All parts as one mesh (no merging or repair: sampling weights faces by area)."""
        return trimesh.Trimesh(
            np.concatenate(self._vertices), np.concatenate(self._faces), process=False
        )
