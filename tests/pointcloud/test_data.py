"""The built-in shapes: fixed seeds and splits, PointFlow normalisation, variety, resampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from polydit.core.errors import DataError
from polydit.pointcloud.data import (
    SHAPES_PER_CATEGORY,
    load_dataset,
    load_shapes,
    shape_meshes,
    split_counts,
    split_indices,
    surface_points,
)
from polydit.pointcloud.distances import chamfer
from polydit.pointcloud.shapes import CATEGORIES, build_shape


def test_categories_and_split_sizes() -> None:
    assert CATEGORIES == ("airplane", "car", "chair", "lamp", "table")
    assert split_counts(SHAPES_PER_CATEGORY) == (800, 50, 150)
    parts = [set(split_indices(SHAPES_PER_CATEGORY, s).tolist()) for s in ("train", "val", "test")]
    assert sum(map(len, parts)) == SHAPES_PER_CATEGORY
    assert set().union(*parts) == set(range(SHAPES_PER_CATEGORY))
    with pytest.raises(DataError, match="split must be"):
        split_indices(10, "training")


def test_a_split_holds_every_category_with_fixed_disjoint_shapes() -> None:
    test = load_shapes("test", num_points=64)
    val = load_shapes("val", ["lamp", "car"], num_points=64)
    assert test.points.shape == (750, 64, 3) and test.class_names == CATEGORIES
    assert torch.equal(torch.bincount(test.labels), torch.full((5,), 150))
    assert set(val.labels.tolist()) == {CATEGORIES.index("lamp"), CATEGORIES.index("car")}
    assert not set(test.sources) & set(val.sources)
    again = load_shapes("test", num_points=64)
    assert torch.equal(again.points, test.points) and again.sources == test.sources


def test_shapes_come_from_their_seeds() -> None:
    mesh = build_shape("chair", np.random.default_rng([0, CATEGORIES.index("chair"), 7]))
    assert np.array_equal(mesh.vertices, shape_meshes("chair")[7].vertices)
    lo, hi = mesh.bounds  # ShapeNet's normalisation: box centred, diagonal 1
    np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-12)
    assert np.linalg.norm(hi - lo) == pytest.approx(1.0)
    seed = np.random.default_rng([0, CATEGORIES.index("chair"), 7, 1])
    points, _ = trimesh.sample.sample_surface(mesh, 64, seed=seed)
    np.testing.assert_array_equal(surface_points("chair", 64)[7], points.astype(np.float32))


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_varies_in_proportions_and_parts(category: str) -> None:
    meshes = shape_meshes(category)[:40]
    assert len({len(m.faces) for m in meshes}) >= 3  # different part counts
    extents = np.stack([m.extents for m in meshes])  # (40, 3)
    assert (extents.std(axis=0) > 0.01).all()  # different proportions
    clouds = surface_points(category, 64)
    assert np.linalg.norm(clouds, axis=-1).max() <= 0.5 + 1e-6  # inside JSD's ball


def test_normalisation_uses_each_categorys_training_statistics() -> None:
    train = load_shapes("train", ["table"], num_points=2048)
    test = load_shapes("test", ["table"], num_points=2048)
    raw = surface_points("table", 2048)[split_indices(SHAPES_PER_CATEGORY, "train")]
    mean, std = raw.reshape(-1, 3).mean(axis=0), raw.reshape(-1).std()
    for part in (train, test):
        np.testing.assert_allclose(part.mean[0, 0].numpy(), mean, rtol=0, atol=1e-6)
        assert part.std.unique().numel() == 1 and part.std[0, 0, 0].item() == pytest.approx(
            std, rel=1e-6
        )
    torch.testing.assert_close(train.denormalised(), torch.as_tensor(raw), atol=2e-6, rtol=0)
    centred = train.points.reshape(-1, 3).double().mean(0)
    torch.testing.assert_close(centred, torch.zeros(3, dtype=torch.float64), atol=1e-4, rtol=0)


def test_resampling_keeps_the_surfaces_and_the_normalisation() -> None:
    first = load_shapes("val", ["airplane"], num_points=256)
    second = load_shapes("val", ["airplane"], num_points=256, sample_seed=1)
    assert not torch.equal(first.points, second.points)
    assert torch.equal(first.mean, second.mean) and torch.equal(first.std, second.std)
    same = chamfer(first.points, second.points)
    other = chamfer(first.points, second.points.roll(1, dims=0))
    assert (same < other).float().mean() > 0.95


def test_labels_and_bad_names() -> None:
    data = load_shapes("val", ["chair"], num_points=16)
    assert data.label_index("chair") == 2 and len(data.of_label("chair")) == 50
    assert len(data.of_label("car")) == 0
    with pytest.raises(DataError, match="'sofa' is not a class"):
        data.label_index("sofa")
    with pytest.raises(DataError, match="unknown shapes category 'sofa'"):
        load_shapes("val", ["sofa"])
    with pytest.raises(DataError, match="neither the built-in"):
        load_dataset("/no/such/folder")
