"""PLY round trip, shapes from mesh and point-cloud files, clear errors for bad files, folders
with classes and --skip-bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from polydit.core.errors import DataError
from polydit.pointcloud.data import load_dataset
from polydit.pointcloud.folder import load_folder
from polydit.pointcloud.io import BadShapeFile, read_ply, read_shape, write_ply

TRIANGLE_PLY = (
    b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
    b"0 0 0\n1 0 0\n0 1 0\n"
)
BAD_FILES = {
    "corrupt.ply": (b"ply\nformat binary_little_endian 1.0\nelement vertex 9\n\x00\x01", "corrupt"),
    "empty.off": (b"OFF\n0 0 0\n", "empty"),
    "nan.off": (b"OFF\n3 1 0\n0 0 0\n1 0 0\nnan 1 0\n3 0 1 2\n", "nan"),
    "flat.off": (b"OFF\n3 1 0\n0 0 0\n1 0 0\n2 0 0\n3 0 1 2\n", "empty"),
    "few.obj": (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "too few points"),
    # found by tests/test_fuzz.py: a vertex line with two coordinates, a face past the vertices
    "flat-vertices.obj": (b"v 0 0\nv 1 0\nv 0 1\nf 1 2 3\n", "corrupt"),
    "face-out-of-range.ply": (TRIANGLE_PLY + b"3 0 1 7\n", "corrupt"),
    "face-negative.ply": (TRIANGLE_PLY + b"3 0 1 -2\n", "corrupt"),
}


def box_file(path: Path, extents=(1.0, 2.0, 3.0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.creation.box(extents=extents).export(path)
    return path


def test_ply_round_trip_is_exact_and_atomic(tmp_path: Path) -> None:
    points = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    path = write_ply(tmp_path / "out" / "cloud.ply", points)
    assert np.array_equal(read_ply(path), points)
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    assert [p.name for p in path.parent.iterdir()] == ["cloud.ply"]
    with pytest.raises(DataError, match=r"shape \(N, 3\)"):
        write_ply(tmp_path / "bad.ply", points[:, :2])


@pytest.mark.parametrize("suffix", [".obj", ".off", ".stl", ".ply"])
def test_mesh_files_are_sampled_on_their_surface(tmp_path: Path, suffix: str) -> None:
    path = box_file(tmp_path / f"box{suffix}")
    points = read_shape(path, 1000, seed=3)
    assert points.shape == (1000, 3) and points.dtype == np.float32
    on_a_face = np.isclose(np.abs(points), [0.5, 1.0, 1.5], atol=1e-5).any(axis=1)
    assert on_a_face.all() and np.abs(points).max() <= 1.5 + 1e-6
    assert np.array_equal(read_shape(path, 1000, seed=3), points)
    # area-weighted: the two 2×3 faces (x = ±0.5) hold 6/11 of the area
    assert abs(np.isclose(np.abs(points[:, 0]), 0.5, atol=1e-5).mean() - 6 / 11) < 0.05


def test_point_cloud_files_are_subsampled(tmp_path: Path) -> None:
    cloud = np.random.default_rng(1).normal(size=(300, 3)).astype(np.float32)
    path = write_ply(tmp_path / "cloud.ply", cloud)
    points = read_shape(path, 200)
    assert points.shape == (200, 3)
    assert len(np.unique(points, axis=0)) == 200 and np.isin(points, cloud).all()
    with pytest.raises(
        BadShapeFile, match=r"cloud\.ply: the point cloud has 300 points, fewer than the 301"
    ):
        read_shape(path, 301)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_errors_naming_them(tmp_path: Path, name: str) -> None:
    content, reason = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadShapeFile) as error:
        read_shape(path, 16)
    assert str(path) in str(error.value) and error.value.reason == reason
    with pytest.raises(BadShapeFile, match="not a shape file"):
        read_shape(tmp_path / "notes.txt", 16)


def test_a_folder_is_classes_of_shapes(tmp_path: Path) -> None:
    for k in range(10):
        box_file(tmp_path / "crate" / f"m{k}" / "models" / "model.obj", (1.0, 1.0 + k / 10, 1.0))
        box_file(tmp_path / "plank" / f"p{k}.stl", (4.0, 0.2, 1.0 + k / 10))
    (tmp_path / "plank" / "texture.png").write_bytes(b"not a shape")
    (tmp_path / "plank" / ".hidden.obj").write_bytes(b"junk")
    train, skipped = load_folder(tmp_path, "train", 128)
    test, _ = load_folder(tmp_path, "test", 128)
    assert train.class_names == ("crate", "plank") and skipped == []
    assert len(train) == 16 and len(test) == 4 and train.points.shape[1:] == (128, 3)
    assert "crate/m0/models/model.obj" in train.sources + test.sources
    # per-class statistics from the training shapes, de-normalised back to file units
    planks = train.of_label("plank").denormalised()
    assert planks[..., 0].abs().max() == pytest.approx(2.0, abs=1e-5)
    assert not train.of_label("crate").std.equal(train.of_label("plank").std)
    same, _ = load_dataset(tmp_path, "train", 128)
    assert same.sources == train.sources


def test_bad_files_in_a_folder_raise_or_are_skipped(tmp_path: Path) -> None:
    for k in range(3):
        box_file(tmp_path / "good" / f"{k}.off")
    (tmp_path / "good" / "nan.off").write_bytes(BAD_FILES["nan.off"][0])
    with pytest.raises(DataError, match=r"nan\.off: 1 of 3 vertices have NaN.*--skip-bad"):
        load_folder(tmp_path, "train", 32)
    data, skipped = load_folder(tmp_path, "train", 32, skip_bad=True)
    assert len(skipped) == 1 and "nan.off" in skipped[0] and len(data) == 3
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.ply").write_bytes(BAD_FILES["corrupt.ply"][0])
    with pytest.raises(DataError, match="broken: no readable shape"):
        load_folder(tmp_path, "train", 32, skip_bad=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no shape files found"):
        load_folder(empty, "train", 32)
