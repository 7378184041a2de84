"""Users' folders of PLY / OBJ / OFF / STL files as a :class:`~polydit.pointcloud.data.PointCloudSet`.

Layout: each sub-folder of the root is a class (sorted names) and holds its shape files at any
depth (ShapeNet's ``<class>/<model>/models/model.obj`` works); without sub-folders the files of
the root are one class named after the root. Hidden files and files of other suffixes
(textures, ``.mtl``) are ignored.

Each file becomes ``num_points`` points (:func:`polydit.pointcloud.io.read_shape`, seeded by
the file's path inside the root, so a file always gives the same points). Units are kept as
they are; the per-class normalisation and the splits are :mod:`.data`'s. A bad file (corrupt,
empty, NaN coordinates, zero area, a point cloud with too few points) raises a DataError naming
it; with ``skip_bad`` it is skipped and its message returned instead. A class left without
shapes raises.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from polydit.core.errors import DataError
from polydit.pointcloud.data import NUM_POINTS, PointCloudSet, normalise
from polydit.pointcloud.io import SHAPE_SUFFIXES, BadShapeFile, read_shape


def shape_files(root: Path) -> list[tuple[Path, str]]:
    """(file, class name) of every shape file under `root`, class by class, sorted."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        return [(f, root.name) for f in _files(root, recursive=False)]
    return [(f, d.name) for d in classes for f in _files(d, recursive=True)]


def _files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in found
        if p.is_file()
        and p.suffix.lower() in SHAPE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def load_folder(
    root: str | Path,
    split: str = "train",
    num_points: int = NUM_POINTS,
    *,
    skip_bad: bool = False,
    seed: int = 0,
) -> tuple[PointCloudSet, list[str]]:
    """The `split` of the shapes under `root` (see the module docstring) and the messages of
    the files skipped."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of shape files")
    entries = shape_files(root)
    if not entries:
        raise DataError(f"{root}: no shape files found (expected {', '.join(SHAPE_SUFFIXES)})")
    class_names = tuple(sorted({name for _, name in entries}))
    clouds, labels, sources, skipped = [], [], [], []
    for path, class_name in entries:
        relative = str(path.relative_to(root))
        try:
            points = read_shape(path, num_points, seed=zlib.crc32(relative.encode()) + seed)
        except BadShapeFile as e:
            if not skip_bad:
                raise DataError(f"{e}; fix or remove it, or pass --skip-bad") from None
            skipped.append(str(e))
            continue
        clouds.append(points)
        labels.append(class_names.index(class_name))
        sources.append(relative)
    for k, class_name in enumerate(class_names):
        if k not in labels:
            raise DataError(f"{root / class_name}: no readable shape (every file was skipped)")
    data = normalise(np.stack(clouds), np.asarray(labels), class_names, sources, str(root), split)
    return data, skipped
