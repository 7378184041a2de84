"""The DiT-3D training recipe: spec round trip and checks, a few-step run on core fit that
exports a loadable generator, and a resume that continues bit-exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.core.train import RunOptions, TrainConfig, TrainData, fit, from_run
from polydit.pointcloud.data import PointCloudSet
from polydit.pointcloud.pipeline import PointCloudGenerator
from polydit.pointcloud.train import RECIPE, PointCloudSpec

TINY = PointCloudSpec(
    num_points=64,
    resolution=8,
    patch=4,
    window=1,
    preset="micro",
    train=TrainConfig(
        steps=4, batch_size=4, lr=1e-3, schedule="constant", checkpoint_every=2, log_every=1
    ),
)


def clouds(num: int = 12, points: int = 64) -> PointCloudSet:
    """Two classes of random clouds: a unit sphere's surface and a flat square."""
    g = torch.Generator().manual_seed(0)
    sphere = torch.nn.functional.normalize(torch.randn(num // 2, points, 3, generator=g), dim=-1)
    square = torch.rand(num // 2, points, 3, generator=g) * torch.tensor([2.0, 2.0, 0.0]) - 1
    return PointCloudSet(
        torch.cat([sphere, square]),
        torch.arange(2).repeat_interleave(num // 2),
        torch.full((num, 1, 3), 0.5),
        torch.full((num, 1, 1), 2.0),
        ("sphere", "square"),
        tuple(f"c/{i}" for i in range(num)),
        "random",
        "train",
    )


def test_the_spec_round_trips_through_json_and_rejects_bad_fields() -> None:
    spec = TINY.replace(categories=("chair",), process="flow")
    assert PointCloudSpec.from_dict(spec.to_dict()) == spec
    for field, value in (("process", "sde"), ("label_dropout", 1.0), ("pos_embed", "learned")):
        with pytest.raises(ConfigError, match=field):
            TINY.merged({field: value})
    with pytest.raises(ConfigError, match="resolutoin"):
        TINY.merged({"resolutoin": 8})


def test_the_generator_carries_the_classes_and_their_normalisation() -> None:
    data = clouds()
    pipeline = RECIPE.build(TINY, data, seed=0)
    codec = pipeline.codec
    assert codec.class_names == ("sphere", "square") and codec.class_std == (2.0, 2.0)
    assert codec.class_mean == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert pipeline.model.config.num_classes == 2 and pipeline.model.config.window_blocks == (0,)
    again = RECIPE.build(TINY, data, seed=0)
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            pipeline.model.state_dict().values(), again.model.state_dict().values(), strict=True
        )
    )


def test_restricting_categories_relabels_in_the_given_order() -> None:
    part = clouds().restricted(("square",))
    assert part.class_names == ("square",) and len(part) == 6
    assert torch.equal(part.labels, torch.zeros(6, dtype=torch.long))
    assert torch.all(part.points[:, :, 2] == -1)  # the flat squares


@pytest.mark.parametrize("process", ["ddpm", "flow"])
def test_a_few_steps_train_and_export_a_generator_that_samples(
    process: str, tmp_path: Path
) -> None:
    spec = TINY.replace(process=process)
    fitted = fit(RECIPE, spec, TrainData(clouds(), "random"), RunOptions(tmp_path, progress=False))
    assert fitted.result.step == 4 and torch.isfinite(torch.tensor(fitted.result.loss))
    loaded = PointCloudGenerator.from_pretrained(fitted.model_dir)
    assert loaded.process.config.kind == ("gaussian" if process == "ddpm" else "flow_matching")
    saved = loaded.model.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in fitted.pipeline.model.state_dict().items())
    a = torch.from_numpy(loaded.sample(3, label="square", seed=1, steps=2).points)
    b = torch.from_numpy(loaded.sample(3, label="square", seed=1, steps=2).points)
    assert a.shape == (3, 64, 3) and torch.isfinite(a).all() and torch.equal(a, b)
    # de-normalised with the class statistics: x · 2 + 0.5
    normalised = torch.from_numpy(
        loaded.sample(3, label="square", seed=1, steps=2, normalised=True).points
    )
    torch.testing.assert_close(a, normalised * 2 + 0.5)


def test_a_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    data = TrainData(clouds(), "random")
    straight = fit(RECIPE, TINY, data, RunOptions(tmp_path / "a", progress=False))
    first = fit(RECIPE, TINY.overridden(steps=2), data, RunOptions(tmp_path / "b", progress=False))
    assert first.result.step == 2
    resumed = fit(RECIPE, TINY, data, RunOptions(tmp_path / "b", resume=True, progress=False))
    assert resumed.result.step == 4
    a, b = straight.pipeline.model.state_dict(), resumed.pipeline.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ema = from_run(PointCloudGenerator, tmp_path / "b").model.state_dict()
    assert all(torch.equal(ema[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="resolution"):
        fit(RECIPE, TINY.replace(resolution=4), data, RunOptions(tmp_path / "b", resume=True))
