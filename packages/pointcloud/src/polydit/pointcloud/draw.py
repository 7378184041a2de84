"""`draw_grid`: a PNG of point clouds side by side, each seen from the same front-left-above
view (y up, front along −z), orthographic, points shaded by depth (near = dark)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from polydit.core.atomic import atomic_write

CELL = 160  # pixels per cloud
MARGIN = 8
AZIMUTH = math.radians(-35.0)  # about the y axis
ELEVATION = math.radians(20.0)  # then about the camera's x axis


def view_rotation() -> np.ndarray:
    """(3, 3) rotation from shape axes (x right, y up, −z front) to camera axes (x, y, depth)."""
    ca, sa, ce, se = math.cos(AZIMUTH), math.sin(AZIMUTH), math.cos(ELEVATION), math.sin(ELEVATION)
    yaw = np.array([[ca, 0.0, sa], [0.0, 1.0, 0.0], [-sa, 0.0, ca]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, ce, -se], [0.0, se, ce]])
    return pitch @ yaw


def draw_grid(path: str | Path, clouds: Sequence[np.ndarray], columns: int = 8) -> Path:
    """Write `clouds` (each (N, 3)) as a grid of `columns` renderings to `path` (PNG, atomic)."""
    from PIL import Image, ImageDraw

    columns = max(1, min(columns, len(clouds)))
    rows = max(1, math.ceil(len(clouds) / columns))
    image = Image.new("RGB", (columns * CELL, rows * CELL), "white")
    pen = ImageDraw.Draw(image)
    rotation = view_rotation()
    for i, cloud in enumerate(clouds):
        ox, oy = (i % columns) * CELL, (i // columns) * CELL
        pen.rectangle([ox, oy, ox + CELL - 1, oy + CELL - 1], outline=(220, 220, 220))
        seen = np.asarray(cloud, dtype=np.float64) @ rotation.T  # (N, 3): x, y, depth
        if len(seen) == 0 or not np.isfinite(seen).all():
            continue
        centre = (seen[:, :2].max(0) + seen[:, :2].min(0)) / 2
        span = max(float(np.ptp(seen[:, :2], axis=0).max()), 1e-9)
        scale = (CELL - 2 * MARGIN) / span
        u = ox + CELL / 2 + (seen[:, 0] - centre[0]) * scale
        v = oy + CELL / 2 - (seen[:, 1] - centre[1]) * scale
        depth = seen[:, 2]
        shade = (depth - depth.min()) / max(float(np.ptp(depth)), 1e-9)  # 0 near, 1 far
        for k in np.argsort(-depth, kind="stable"):  # far first, near drawn on top
            grey = int(40 + 170 * shade[k])
            pen.point((float(u[k]), float(v[k])), fill=(grey, grey, min(255, grey + 40)))
    return atomic_write(path, lambda f: image.save(f, format="PNG"))
