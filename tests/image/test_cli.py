"""polydit-image end to end on a tiny untrained model (files, manifest, determinism, errors)."""

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from polydit.core.train import load_checkpoint
from polydit.core.train.checkpoint import list_checkpoints
from polydit.image.cli import app
from polydit.image.train import ImageTrainSpec

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_sample_writes_num_readable_pngs_grid_and_manifest(micro_model_dir: Path, tmp_path: Path):
    out = tmp_path / "s"
    _run(
        "sample",
        "--model",
        str(micro_model_dir),
        "--num",
        "5",
        "--label",
        "7",
        "--seed",
        "3",
        "--steps",
        "2",
        "--out",
        str(out),
    )
    pngs = sorted(out.glob("sample_*.png"))
    assert len(pngs) == 5
    for png in pngs:
        with Image.open(png) as im:
            assert im.mode == "L" and im.size == (8, 8)
    assert (out / "grid.png").is_file()
    records = json.loads((out / "samples.json").read_text())
    assert [r["file"] for r in records] == [p.name for p in pngs]
    assert [r["seed"] for r in records] == [3, 4, 5, 6, 7]
    assert all(r["conditioning"] == {"label": 7} for r in records)


def test_omitted_label_is_uniform_and_per_class_gives_rows(micro_model_dir: Path, tmp_path: Path):
    _run(
        "sample",
        "--model",
        str(micro_model_dir),
        "--num",
        "40",
        "--steps",
        "1",
        "--out",
        str(tmp_path / "u"),
    )
    labels = {
        r["conditioning"]["label"] for r in json.loads((tmp_path / "u/samples.json").read_text())
    }
    assert len(labels) >= 8
    _run(
        "sample",
        "--model",
        str(micro_model_dir),
        "--per-class",
        "2",
        "--steps",
        "1",
        "--out",
        str(tmp_path / "p"),
    )
    records = json.loads((tmp_path / "p/samples.json").read_text())
    assert [r["conditioning"]["label"] for r in records] == [k for k in range(10) for _ in (0, 1)]
    with Image.open(tmp_path / "p/grid.png") as im:  # 2 columns × 10 rows of 8 px (+1 px pads), ×4
        assert im.size == ((2 * 9 + 1) * 4, (10 * 9 + 1) * 4)


def test_larger_grid_sampling(micro_model_dir: Path, tmp_path: Path) -> None:
    _run(
        "sample",
        "--model",
        str(micro_model_dir),
        "--num",
        "2",
        "--size",
        "12",
        "--steps",
        "2",
        "--out",
        str(tmp_path),
    )
    with Image.open(tmp_path / "sample_0000.png") as im:
        assert im.size == (12, 12)


def test_bad_label_and_prompt_are_one_line_errors(micro_model_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sample", "--model", str(micro_model_dir), "--label", "11", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "error: label '11' is not" in result.output
    result = runner.invoke(
        app,
        ["sample", "--model", str(micro_model_dir), "--prompt", "a cat", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1 and "--prompt" in result.output


def test_train_then_info_and_eval_json(tmp_path: Path) -> None:
    config = tmp_path / "micro.json"
    config.write_text(json.dumps({"preset": "micro", "train": {"steps": 2, "batch_size": 8}}))
    _run("train", "--data", "digits", "--config", str(config), "--out", str(tmp_path / "run"))
    model = tmp_path / "run" / "model"
    assert (model / "model.safetensors").is_file()
    _, newest = list_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    trained = load_checkpoint(newest)["config"]  # a partial "train" keeps the recipe's rest
    assert trained["warmup_steps"] == ImageTrainSpec().train.warmup_steps != 0
    assert '"parameters"' in _run("info", "--model", str(model), "--json")
    last = _run("eval", "--model", str(model), "--num", "20", "--steps", "1", "--json")
    metrics = json.loads(last.strip().splitlines()[-1])
    assert {"accuracy", "fd", "fd_floor", "fd_ratio", "precision", "recall", "nfe"} <= set(metrics)


def test_train_on_folder_with_skip_bad(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / "data" / "a").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(
            tmp_path / "data" / "a" / f"{i}.png"
        )
    (tmp_path / "data" / "a" / "bad.png").write_bytes(b"garbage")
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps({"preset": "micro", "size": 8, "train": {"steps": 1, "batch_size": 2}})
    )
    args = ["train", "--data", str(tmp_path / "data"), "--config", str(config)]
    failed = runner.invoke(app, [*args, "--out", str(tmp_path / "r1")])
    assert failed.exit_code == 1 and "bad.png" in failed.output
    _run(*args, "--out", str(tmp_path / "r2"), "--skip-bad")


def test_data_show_writes_previews(tmp_path: Path) -> None:
    output = _run("data", "show", "--data", "digits", "--num", "4", "--out", str(tmp_path))
    assert "1437 images" in output
    assert len(list(tmp_path.glob("example_*.png"))) == 4


def test_demo_writes_a_grid_with_one_row_per_class(micro_model_dir: Path, tmp_path: Path) -> None:
    from polydit.image.cli import DOMAIN

    generator = DOMAIN.load(micro_model_dir, device="cpu", dtype="fp32")
    generator.sampling = generator.sampling.override(steps=2)
    items = DOMAIN.demo(generator, tmp_path, seed=0)
    assert [item.file.name for item in items] == ["classes.png"]
    assert "one row per class" in items[0].caption
    assert items[0].command.startswith("polydit-image sample --per-class 10")
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == ((10 * 9 + 1) * 4, (10 * 9 + 1) * 4)
    with Image.open(tmp_path / "classes.png") as im:  # the same grid behind a label gutter
        assert im.size == ((10 * 9 + 1) * 4 + 8 + 16, (10 * 9 + 1) * 4)
    assert len(json.loads((tmp_path / "samples.json").read_text())) == 100


def test_cache_flags_reach_sample_and_eval(micro_model_dir: Path, tmp_path: Path) -> None:
    base = ["sample", "--model", str(micro_model_dir), "--num", "3", "--steps", "6"]
    _run(*base, "--out", str(tmp_path / "plain"))
    _run(*base, "--cache", "fora", "--cache-opts", "interval=1", "--out", str(tmp_path / "every"))
    for i in range(3):
        name = f"sample_{i:04d}.png"
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "every" / name).read_bytes()
    records = json.loads((tmp_path / "every" / "samples.json").read_text())
    assert len(records) == 3
    evals = ["eval", "--model", str(micro_model_dir), "--num", "20", "--steps", "6", "--json"]
    metrics = json.loads(_run(*evals, "--cache", "fora").strip().splitlines()[-1])
    assert 0 < metrics["cache_block_fraction"] < 1  # the cache skipped blocks inside eval
    assert metrics["eval_seconds"] > 0


def test_train_init_from_starts_from_the_donor_weights(
    micro_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from safetensors.torch import load_file

    config = tmp_path / "micro.json"
    config.write_text(
        json.dumps({"preset": "micro", "train": {"steps": 1, "batch_size": 4, "lr": 0.0}})
    )
    _run("train", "--config", str(config), "--out", str(tmp_path / "warm"), "--seed", "5",
         "--init-from", str(micro_model_dir))  # fmt: skip
    donor = load_file(micro_model_dir / "model.safetensors")
    warm = load_file(tmp_path / "warm" / "model" / "model.safetensors")
    assert donor.keys() == warm.keys()
    assert all(torch.equal(donor[k], warm[k]) for k in donor)  # lr 0: the weights stay the donor's
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"preset": "micro", "patch": 4, "train": {"steps": 1}}))
    failed = runner.invoke(app, ["train", "--config", str(other), "--out", str(tmp_path / "x"),
                                 "--init-from", str(micro_model_dir)])  # fmt: skip
    assert failed.exit_code != 0 and "--init-from" in failed.output
