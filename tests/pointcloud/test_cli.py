"""polydit-pointcloud's CLI on a tiny random chair model: sample (PLY + grid + records), eval
against the built-in test split, data show, train on users' files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from random_weights import randomised
from typer.testing import CliRunner

from polydit.pointcloud.cli import app
from polydit.pointcloud.data import load_shapes
from polydit.pointcloud.io import read_ply, write_ply
from polydit.pointcloud.train import RECIPE, PointCloudSpec

POINTS = 64
TINY = {"num_points": POINTS, "resolution": 8, "patch": 4, "window": 0, "preset": "micro"}


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def chair_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained micro model of the built-in chairs, weights randomised (not adaLN-zero)."""
    spec = PointCloudSpec().merged({**TINY, "categories": ["chair"]})
    data = load_shapes("train", ("chair",), POINTS).restricted(("chair",))
    pipeline = RECIPE.build(spec, data, seed=0)
    randomised(pipeline.model, seed=0)
    return pipeline.save_pretrained(tmp_path_factory.mktemp("chair") / "model")


def test_sample_writes_one_ply_per_cloud_a_grid_and_records(
    chair_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke("sample", "--model", chair_model, "--num", "3", "--steps", "2", "--out", out)
    assert result.exit_code == 0, result.output
    records = json.loads((out / "samples.json").read_text())
    assert [r["seed"] for r in records] == [0, 1, 2]
    assert all(r["conditioning"] == {"label": "chair"} for r in records)
    clouds = [read_ply(out / r["file"]) for r in records]
    assert all(c.shape == (POINTS, 3) and np.isfinite(c).all() for c in clouds)
    assert not np.array_equal(clouds[0], clouds[1])
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_json_prints_the_issue_metrics_per_class(chair_model: Path) -> None:
    result = invoke(
        "eval", "--model", chair_model, "--num", "4", "--steps", "2", "--emd-points", "16",
        "--copy-points", "16", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output.strip().splitlines()[-1])
    for name in ("1-NNA-CD", "1-NNA-EMD", "COV-CD", "COV-EMD"):
        assert 0 <= metrics[f"chair/{name}"] <= 1
    for name in ("MMD-CD", "MMD-EMD", "JSD", "copy_ratio"):
        assert metrics[f"chair/{name}"] > 0
    assert metrics["chair/num_generated"] == 4 and metrics["chair/num_reference"] == 150
    # an untrained network's clouds are told apart from real chairs every time
    assert metrics["chair/1-NNA-CD"] > 0.9


def test_a_label_the_model_does_not_have_is_a_one_line_error(
    chair_model: Path, tmp_path: Path
) -> None:
    result = invoke(
        "sample", "--model", chair_model, "--label", "airplane", "--steps", "2",
        "--out", tmp_path / "x",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: label 'airplane' is not one of this model's classes (chair)"
    ]


def test_data_show_writes_real_shapes_as_ply(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = invoke(
        "data", "show", "--split", "test", "--label", "chair", "--num", "3", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "class 'chair': 150" in result.output
    files = sorted(out.glob("chair_*.ply"))
    assert len(files) == 3 and read_ply(files[0]).shape == (2048, 3)


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "shapes"
    g = np.random.default_rng(0)
    for kind in ("ball", "slab"):
        (root / kind).mkdir(parents=True)
        for i in range(8):
            points = g.normal(size=(100, 3)) * (1.0 if kind == "ball" else (1.0, 1.0, 0.01))
            write_ply(root / kind / f"{i}.ply", points)
    return root


def test_train_on_users_files_then_a_bad_file_names_it(tmp_path: Path) -> None:
    root = folder(tmp_path)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY, "train": {"batch_size": 4, "checkpoint_every": 1}}))
    base = ("train", "--data", root, "--config", config, "--steps", "2")
    ok = invoke(*base, "--out", tmp_path / "r1")
    assert ok.exit_code == 0, ok.output
    record = json.loads((tmp_path / "r1" / "run.json").read_text())
    assert record["pipeline"]["codec"]["class_names"] == ["ball", "slab"]
    (root / "slab" / "broken.ply").write_bytes(b"ply\nformat nonsense\n")
    bad = invoke(*base, "--out", tmp_path / "r2")
    assert bad.exit_code == 1 and "broken.ply" in bad.stderr
    assert not (tmp_path / "r2" / "model").exists()


def test_a_bad_config_field_is_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"patch": 4, "resolutoin": 8}))
    result = invoke("train", "--config", config, "--steps", "1", "--out", tmp_path / "r")
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "resolutoin" in lines[0]
    assert not (tmp_path / "r").exists()
