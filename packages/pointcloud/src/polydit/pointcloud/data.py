"""Point-cloud datasets: the built-in procedural ``shapes`` and users' folders of shape files.

Every dataset is a :class:`PointCloudSet` of ``(S, N, 3)`` clouds, normalised PointFlow-style
(``ShapeNet15kPointClouds`` with ``normalize_per_shape=False, normalize_std_per_axis=False``):
per category, one mean ``m`` (3,) over every point of the category's *training* shapes and one
scalar ``s``, the standard deviation of all their coordinates together; every shape of that
category, in every split, is stored as ``(x - m) / s`` with its ``m`` and ``s`` beside it, so
evaluation de-normalises generated and real clouds identically (``x · s + m``).

Splits are fixed per category: a permutation of the category's shapes drawn with seed 1234,
the first 80 % train, the next 5 % val, the last 15 % test (rounded; :func:`split_counts`).

**shapes** (:mod:`.shapes`): 1,000 shapes per category (airplane, car, chair, lamp, table), each
drawn from its own seed, so 800 / 50 / 150 per category. Points are sampled uniformly on the
surface; ``sample_seed`` resamples the same surfaces (``sample_seed=0`` is the dataset, and the
normalisation always comes from its 2,048-point training clouds). Meshes and clouds are cached
in memory after the first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import torch
import trimesh
from torch import Tensor

from polydit.core.errors import DataError
from polydit.pointcloud.shapes import CATEGORIES, build_shape

BUILTIN = "shapes"
SPLITS = ("train", "val", "test")
SPLIT_SEED = 1234
DATA_SEED = 0
NUM_POINTS = 2048
SHAPES_PER_CATEGORY = 1000


@dataclass(frozen=True)
class PointCloudSet:
    """Normalised clouds with their labels and normalisation.

    points: (S, N, 3) float32, ``(x - mean) / std``; labels: (S,) long into `class_names`;
    mean: (S, 1, 3) and std: (S, 1, 1), the category statistics of each shape; sources: where
    each shape comes from ("chair/0042" or a file path relative to the folder).
    """

    points: Tensor
    labels: Tensor
    mean: Tensor
    std: Tensor
    class_names: tuple[str, ...]
    sources: tuple[str, ...]
    name: str
    split: str

    def __len__(self) -> int:
        return len(self.points)

    @property
    def num_points(self) -> int:
        return self.points.shape[1]

    def denormalised(self) -> Tensor:
        """(S, N, 3) clouds in their original units, ``points · std + mean``."""
        return self.points * self.std + self.mean

    def label_index(self, label: str | int) -> int:
        """A class id from a class name or an id, checked against `class_names`."""
        if isinstance(label, str) and label in self.class_names:
            return self.class_names.index(label)
        if isinstance(label, int) and 0 <= label < len(self.class_names):
            return label
        raise DataError(
            f"--label {label!r} is not a class of {self.name} "
            f"(classes: {', '.join(self.class_names)})"
        )

    def subset(self, index: Tensor | np.ndarray | Sequence[int]) -> PointCloudSet:
        """The shapes at `index`, in that order."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return PointCloudSet(
            self.points[index],
            self.labels[index],
            self.mean[index],
            self.std[index],
            self.class_names,
            tuple(self.sources[i] for i in index.tolist()),
            self.name,
            self.split,
        )

    def of_label(self, label: str | int) -> PointCloudSet:
        """Only the shapes of one class."""
        k = self.label_index(label)
        return self.subset(torch.nonzero(self.labels == k).flatten())

    def restricted(self, names: Sequence[str]) -> PointCloudSet:
        """Only the shapes of classes `names`, relabelled 0..len(names)−1 in that order (the
        class list of a model trained on some categories)."""
        ids = [self.label_index(name) for name in names]
        keep = torch.isin(self.labels, torch.tensor(ids))
        part = self.subset(torch.nonzero(keep).flatten())
        relabel = torch.full((len(self.class_names),), -1, dtype=torch.long)
        relabel[ids] = torch.arange(len(ids))
        return replace(part, labels=relabel[part.labels], class_names=tuple(names))

    def class_statistics(self) -> tuple[tuple[tuple[float, float, float], ...], tuple[float, ...]]:
        """Each class's normalisation: (mean (x, y, z) per class, std per class)."""
        means, stds = [], []
        for k, name in enumerate(self.class_names):
            members = torch.nonzero(self.labels == k).flatten()
            if len(members) == 0:
                raise DataError(
                    f"{self.name}: class {name!r} has no shapes in the {self.split} split"
                )
            first = int(members[0])
            means.append(tuple(float(v) for v in self.mean[first, 0]))
            stds.append(float(self.std[first, 0, 0]))
        return tuple(means), tuple(stds)

    # --- the core Trainer's map-style dataset: (points (N, 3), label) ---------------------
    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.points[index], self.labels[index]

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """(points (K, N, 3), labels (K,)) at `index` (K,)."""
        return self.points[index], self.labels[index]


def split_counts(count: int) -> tuple[int, int, int]:
    """(train, val, test) sizes of a category of `count` shapes: 80 / 5 / 15 %."""
    test, val = round(0.15 * count), round(0.05 * count)
    return count - val - test, val, test


def split_indices(count: int, split: str, seed: int = SPLIT_SEED) -> np.ndarray:
    """Sorted indices of `split` among a category's `count` shapes."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {'|'.join(SPLITS)}, got {split!r}")
    train, val, _ = split_counts(count)
    order = np.random.default_rng(seed).permutation(count)
    parts = {
        "train": order[:train],
        "val": order[train : train + val],
        "test": order[train + val :],
    }
    return np.sort(parts[split])


def normalise(
    clouds: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...],
    sources: Sequence[str],
    name: str,
    split: str,
    statistics_from: np.ndarray | None = None,
) -> PointCloudSet:
    """The `split` of raw clouds (S, N, 3) of classes `labels` (S,), normalised per class by the
    statistics of that class's training shapes in `statistics_from` (same layout; default
    `clouds`). Shapes come class by class, in their original order within a class."""
    reference = clouds if statistics_from is None else statistics_from
    chosen, means, stds = [], [], []
    for k, class_name in enumerate(class_names):
        members = np.flatnonzero(labels == k)
        if len(members) == 0:
            continue
        train = reference[members[split_indices(len(members), "train")]]
        if len(train) == 0:
            raise DataError(f"{name}: class {class_name!r} has no training shapes")
        mean = train.reshape(-1, 3).mean(axis=0)
        std = train.reshape(-1).std()
        picked = members[split_indices(len(members), split)]
        chosen.append(picked)
        means.append(np.broadcast_to(mean, (len(picked), 3)))
        stds.append(np.full(len(picked), std))
    index = np.concatenate(chosen)
    mean = torch.as_tensor(np.concatenate(means), dtype=torch.float32)[:, None, :]
    std = torch.as_tensor(np.concatenate(stds), dtype=torch.float32)[:, None, None]
    points = (torch.as_tensor(clouds[index], dtype=torch.float32) - mean) / std
    return PointCloudSet(
        points,
        torch.as_tensor(labels[index], dtype=torch.long),
        mean,
        std,
        class_names,
        tuple(sources[i] for i in index),
        name,
        split,
    )


@cache
def shape_meshes(category: str) -> tuple[trimesh.Trimesh, ...]:
    """The built-in meshes of `category` (cached): shape i from seed ``(0, category id, i)``."""
    if category not in CATEGORIES:
        raise DataError(
            f"unknown shapes category {category!r} (expected one of {', '.join(CATEGORIES)})"
        )
    k = CATEGORIES.index(category)
    return tuple(
        build_shape(category, np.random.default_rng([DATA_SEED, k, i]))
        for i in range(SHAPES_PER_CATEGORY)
    )


@lru_cache(maxsize=16)
def surface_points(category: str, num_points: int, sample_seed: int = 0) -> np.ndarray:
    """(1000, num_points, 3) float32 uniform surface samples of the built-in `category`
    (cached); shape i is sampled from seed ``(0, category id, i, 1 + sample_seed)``."""
    k = CATEGORIES.index(category)
    clouds = [
        trimesh.sample.sample_surface(
            mesh, num_points, seed=np.random.default_rng([DATA_SEED, k, i, 1 + sample_seed])
        )[0]
        for i, mesh in enumerate(shape_meshes(category))
    ]
    return np.stack(clouds).astype(np.float32)


def load_shapes(
    split: str = "train",
    categories: Sequence[str] | None = None,
    num_points: int = NUM_POINTS,
    sample_seed: int = 0,
) -> PointCloudSet:
    """The built-in ``shapes`` `split` of `categories` (default all); labels index the full
    category list, so every subset speaks to one multi-category model."""
    if num_points < 1:
        raise DataError(f"num_points must be ≥ 1, got {num_points}")
    categories = tuple(categories or CATEGORIES)
    for category in categories:
        if category not in CATEGORIES:
            raise DataError(
                f"unknown shapes category {category!r} (expected one of {', '.join(CATEGORIES)})"
            )
    clouds = np.concatenate([surface_points(c, num_points, sample_seed) for c in categories])
    statistics = np.concatenate([surface_points(c, NUM_POINTS) for c in categories])
    labels = np.repeat([CATEGORIES.index(c) for c in categories], SHAPES_PER_CATEGORY)
    sources = [f"{c}/{i:04d}" for c in categories for i in range(SHAPES_PER_CATEGORY)]
    return normalise(clouds, labels, CATEGORIES, sources, BUILTIN, split, statistics)


def load_dataset(
    data: str | Path = BUILTIN,
    split: str = "train",
    num_points: int = NUM_POINTS,
    *,
    skip_bad: bool = False,
) -> tuple[PointCloudSet, list[str]]:
    """``shapes`` or a folder of shape files (:mod:`.folder`): the set and the messages of the
    files skipped (empty unless `skip_bad`)."""
    if str(data) == BUILTIN:
        return load_shapes(split, num_points=num_points), []
    if not Path(data).is_dir():
        raise DataError(
            f"--data {str(data)!r} is neither the built-in {BUILTIN!r} nor a folder of shape files"
        )
    from polydit.pointcloud.folder import load_folder

    return load_folder(data, split, num_points, skip_bad=skip_bad)
