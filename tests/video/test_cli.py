"""The polydit-video CLI end to end on a tiny untrained model (fast)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from polydit.video.cli import app
from polydit.video.data import MovingDigitsConfig, make_clip, read_clip
from polydit.video.io import write_gif

from .conftest import tiny_generator


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_generator().save_pretrained(tmp_path_factory.mktemp("m") / "tiny")


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = make_clip(MovingDigitsConfig(), "test", 0).video
    return write_gif(tmp_path_factory.mktemp("clip") / "clip.gif", video, scale=2)


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_sample_writes_gifs_mp4s_and_records(model: Path, tmp_path: Path) -> None:
    result = invoke("sample", "--model", model, "--num", "2", "--steps", "2", "--mp4",
                    "--out", tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "samples.json").read_text())
    assert [r["seed"] for r in records] == [0, 1]
    assert read_clip(tmp_path / records[0]["file"]).shape == (8, 96, 96, 3)
    assert (tmp_path / "clip_001.mp4").stat().st_size > 0


def test_predict_keeps_the_given_frames_of_the_input(
    model: Path, clip_file: Path, tmp_path: Path
) -> None:
    result = invoke("predict", "--input", clip_file, "--given", "4", "--model", model,
                    "--steps", "2", "--num", "2", "--given-scale", "2", "--out", tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "samples.json").read_text())
    assert len(records) == 2 and records[0]["conditioning"]["given"] == 4
    given = read_clip(tmp_path / "input.gif")[:4]
    predicted = read_clip(tmp_path / records[1]["file"])
    assert np.array_equal(predicted[:4], given)


def test_interpolate_keeps_first_and_last(model: Path, clip_file: Path, tmp_path: Path) -> None:
    result = invoke("interpolate", "--input", clip_file, "--model", model, "--steps", "2",
                    "--out", tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    truth, out = read_clip(tmp_path / "input.gif"), read_clip(tmp_path / "interpolate_000.gif")
    assert np.array_equal(out[[0, -1]], truth[[0, -1]])


def test_eval_json_has_the_bar_metrics(model: Path) -> None:
    result = invoke("eval", "--model", model, "--num", "4", "--unconditional", "4",
                    "--steps", "2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("predict.psnr", "predict.margin_db", "interpolate.margin_db",
                "predict.classifier_accuracy", "unconditional.frechet_frames",
                "unconditional.classifier_confidence", "data.classifier_confidence"):  # fmt: skip
        assert key in metrics
    assert metrics["data.classifier_accuracy"] > 0.5


def test_eval_given_scale_reaches_the_sampler(model: Path) -> None:
    def psnr(scale: str) -> float:
        result = invoke("eval", "--model", model, "--num", "2", "--unconditional", "0",
                        "--steps", "2", "--given-scale", scale, "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout.strip().splitlines()[-1])["predict.psnr"]

    assert psnr("1") != psnr("3")


def test_info_and_data_show(model: Path, tmp_path: Path) -> None:
    info = json.loads(invoke("info", "--model", model, "--json").stdout.strip().splitlines()[-1])
    assert info["codec"]["patch"] == [1, 8, 8] and info["tokens"] == 72
    result = invoke("data", "show", "--num", "2", "--out", tmp_path)
    assert result.exit_code == 0 and "moving-digits" in result.stdout
    assert (tmp_path / "data_001.gif").is_file() and (tmp_path / "strip.png").is_file()


def test_bad_input_clip_is_a_one_line_error(model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage")
    result = invoke("predict", "--input", bad, "--model", model)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "bad.mp4" in result.stderr
    assert "Traceback" not in result.output


def test_demo_writes_captioned_gifs(tmp_path: Path) -> None:
    from polydit.video.cli import DOMAIN

    items = DOMAIN.demo(tiny_generator(), tmp_path, seed=0)
    assert {i.file.name for i in items} >= {"sample_0.gif", "predict_0.gif", "interpolate_0.gif"}
    with Image.open(tmp_path / "compare_0.png") as strip:  # truth over prediction
        assert strip.getpixel((0, 0)) == (255, 255, 255)  # truth: no given frames
        assert strip.getpixel((0, strip.height - 1)) == (255, 140, 0)  # prediction: given, orange
    for item in items:
        assert (tmp_path / item.file).is_file() and item.caption
        assert item.command.startswith("polydit-video ")
