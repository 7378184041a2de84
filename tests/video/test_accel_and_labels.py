"""Issue-8 wiring (--cache/--cache-opts reach every generate call), class conditioning and
warm starts (--init-from) on tiny models (fast)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from polydit.core.errors import ConfigError
from polydit.core.train import RunOptions, TrainConfig, fit, read_run
from polydit.video.cli import app
from polydit.video.codec import VideoCodec
from polydit.video.data import MovingDigitsConfig, make_clip, read_clip
from polydit.video.io import write_gif
from polydit.video.model import VideoModelConfig
from polydit.video.pipeline import VideoGenerator
from polydit.video.train import RECIPE, VideoTrainSpec

from .conftest import tiny_generator


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_generator().save_pretrained(tmp_path_factory.mktemp("m") / "tiny")


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def eval_json(model: Path, *cache: str) -> dict[str, float]:
    result = invoke("eval", "--model", model, "--num", "3", "--unconditional", "3",
                    "--steps", "4", "--json", *cache)  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        k: v
        for k, v in metrics.items()
        if k.split(".")[0] in ("predict", "interpolate", "unconditional", "data")
    }  # fmt: skip (the factory adds timing/compute entries)


def test_eval_cache_interval_1_matches_no_cache_and_fora_changes_it(model: Path) -> None:
    plain = eval_json(model)
    assert eval_json(model, "--cache", "fora", "--cache-opts", "interval=1") == plain
    fora = eval_json(model, "--cache", "fora", "--cache-opts", "interval=2")
    assert fora["predict.psnr"] != plain["predict.psnr"]  # the cache really reached generate


def test_sample_predict_interpolate_take_the_cache(model: Path, tmp_path: Path) -> None:
    clip = write_gif(tmp_path / "c.gif", make_clip(MovingDigitsConfig(), "test", 1).video)
    runs = {
        "sample": ("sample", "--num", "2"),
        "predict": ("predict", "--input", clip, "--num", "2"),
        "interpolate": ("interpolate", "--input", clip, "--num", "2"),
    }
    for name, args in runs.items():
        outputs = []
        for cache in (("--cache", "none"), ("--cache", "fora", "--cache-opts", "interval=1"),
                      ("--cache", "fora", "--cache-opts", "interval=3")):  # fmt: skip
            out = tmp_path / f"{name}-{len(outputs)}"
            result = invoke(*args, "--model", model, "--steps", "6", *cache, "--out", out)
            assert result.exit_code == 0, result.output
            records = json.loads((out / "samples.json").read_text())
            outputs.append(read_clip(out / records[1]["file"]))
        assert np.array_equal(outputs[0], outputs[1]), name
        assert not np.array_equal(outputs[0], outputs[2]), name


def test_bad_cache_option_is_a_clear_error(model: Path, tmp_path: Path) -> None:
    result = invoke("sample", "--model", model, "--num", "1", "--cache", "fora",
                    "--cache-opts", "nonsense=1", "--out", tmp_path)  # fmt: skip
    assert result.exit_code != 0 and "nonsense" in result.output


def test_class_conditioning_changes_samples_and_keeps_given_frames() -> None:
    generator = tiny_generator(num_classes=10)
    a = generator.sample(2, seed=0, labels=torch.tensor([3]), steps=2)
    b = generator.sample(2, seed=0, labels=torch.tensor([7]), steps=2)
    null = generator.sample(2, seed=0, steps=2)
    assert not torch.equal(a.clips, b.clips) and not torch.equal(a.clips, null.clips)
    assert a.labels.tolist() == [3, 3] and null.labels.tolist() == [-1, -1]
    clips = torch.from_numpy(make_clip(MovingDigitsConfig(), "test", 0).video)[None]
    out = generator.predict(clips, 4, labels=torch.tensor([5]), steps=2).clips
    assert torch.equal(out[:, :4], clips[:, :4])
    with pytest.raises(ConfigError, match="labels must be in"):
        generator.sample(1, labels=torch.tensor([10]), steps=1)
    with pytest.raises(ConfigError, match="not class-conditional"):
        tiny_generator().sample(1, labels=torch.tensor([1]), steps=1)


def tiny_spec(attention: str = "full", speed: int = 2, **model: Any) -> VideoTrainSpec:
    data = MovingDigitsConfig(max_speed=speed)
    return VideoTrainSpec(
        codec=VideoCodec(8, 24, 1, (1, 8, 8), attention=attention, data=data),
        model=VideoModelConfig(hidden=32, depth=1, heads=2, **model),
        train=TrainConfig(steps=2, batch_size=2, checkpoint_every=2, log_every=1),
        sampling_steps=2,
    )


def train(spec: VideoTrainSpec, out: Path, init: Path | None = None) -> Path:
    data = RECIPE.data(spec, None, {})
    return fit(RECIPE, spec, data, RunOptions(out, init_from=init, progress=False)).model_dir


def test_labelled_training_and_warm_start(tmp_path: Path) -> None:
    spec = tiny_spec(num_classes=10)
    first = train(spec, tmp_path / "a")
    warm = VideoGenerator.from_pretrained(first)
    assert warm.model.config.num_classes == 10
    second = train(spec, tmp_path / "b", init=first)
    assert read_run(tmp_path / "b")["init_from"] == str(first)
    assert (
        VideoGenerator.from_pretrained(second).sample(1, labels=torch.tensor([2])).clips.shape[1]
        == 8
    )
    with pytest.raises(ConfigError, match="init-from"):
        train(tiny_spec(), tmp_path / "c", init=first)  # drops the labels
    unlabelled = train(tiny_spec(), tmp_path / "d")
    labelled = train(spec, tmp_path / "e", init=unlabelled)  # adds them
    assert VideoGenerator.from_pretrained(labelled).model.config.num_classes == 10
    with pytest.raises(ConfigError, match="attention"):
        train(tiny_spec(attention="factorized"), tmp_path / "f", init=unlabelled)


def test_warm_start_may_change_the_training_data(tmp_path: Path) -> None:
    donor = train(tiny_spec(), tmp_path / "a")
    run = VideoGenerator.from_pretrained(train(tiny_spec(speed=3), tmp_path / "b", init=donor))
    assert run.codec.data == MovingDigitsConfig(max_speed=3)


def test_self_conditioned_training_warm_starts_and_samples(tmp_path: Path) -> None:
    plain = train(tiny_spec(), tmp_path / "a")
    spec = tiny_spec(self_condition=True)
    run = train(spec, tmp_path / "b", init=plain)
    generator = VideoGenerator.from_pretrained(run)
    assert generator.model.config.self_condition
    # the weight (unlike the bias) moves only in a self-conditioned batch (seeded: deterministic)
    assert generator.model.self_embed.weight.abs().sum() > 0
    clips = generator.sample(2, seed=0, steps=3).clips
    assert clips.shape == (2, 8, 1, 24, 24) and torch.isfinite(clips).all()


def test_export_stores_the_run_weights_with_chosen_sampling_defaults(tmp_path: Path) -> None:
    trained = VideoGenerator.from_pretrained(train(tiny_spec(), tmp_path / "run"))
    result = invoke("export", "--run", tmp_path / "run", "--out", tmp_path / "x",
                    "--steps", "3", "--given-scale", "2.5")  # fmt: skip
    assert result.exit_code == 0, result.output
    exported = VideoGenerator.from_pretrained(tmp_path / "x")
    assert (exported.sampling.steps, exported.sampling.given_scale) == (3, 2.5)
    for (name, a), b in zip(
        trained.model.state_dict().items(), exported.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert trained.sampling.given_scale == VideoTrainSpec().given_scale  # the spec's default


def test_train_dtype_reaches_the_run(tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_spec().to_dict()))
    result = invoke("train", "--config", config, "--steps", "1", "--dtype", "bf16",
                    "--out", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_run(tmp_path / "run")["spec"]["train"]["dtype"] == "bf16"
