"""Shared fixtures: a tiny untrained video generator (fast; for shape and masking contracts) and
a tiny text model."""

from pathlib import Path

import pytest
import torch

from polydit.core.dit import DiT
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.train import RunOptions, TrainConfig, fit
from polydit.video.codec import VideoCodec
from polydit.video.data import MovingDigitsConfig
from polydit.video.model import VideoModelConfig
from polydit.video.pipeline import VideoGenerator
from polydit.video.train import RECIPE, VideoTrainSpec


def tiny_generator(attention: str = "full", seed: int = 0, num_classes: int = 0) -> VideoGenerator:
    torch.manual_seed(seed)
    codec = VideoCodec(8, 24, 1, (1, 8, 8), attention=attention, data=MovingDigitsConfig())
    config = VideoModelConfig(hidden=32, depth=2, heads=2, num_classes=num_classes)
    model = DiT(config.dit_config(codec))
    for p in model.parameters():  # leave adaLN-Zero: make the untrained net non-trivial
        torch.nn.init.normal_(p, std=0.05)
    return VideoGenerator(
        model, build_process(ProcessConfig()), SamplingConfig(steps=3), codec=codec
    )


@pytest.fixture
def generator() -> VideoGenerator:
    return tiny_generator()


def text_spec(text: bool = True) -> VideoTrainSpec:
    return VideoTrainSpec(
        codec=VideoCodec(8, 24, 1, (1, 8, 8), data=MovingDigitsConfig()),
        model=VideoModelConfig(hidden=32, depth=2, heads=2, text=text),
        train=TrainConfig(steps=2, batch_size=4, checkpoint_every=2, log_every=1),
        sampling_steps=2,
    )


def train(spec: VideoTrainSpec, out: Path, init: Path | None = None) -> Path:
    data = RECIPE.data(spec, None, {})
    return fit(RECIPE, spec, data, RunOptions(out, init_from=init, progress=False)).model_dir


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = VideoGenerator.from_pretrained(train(text_spec(), tmp_path_factory.mktemp("t")))
    g = torch.Generator().manual_seed(0)
    for p in generator.model.parameters():  # leave adaLN-Zero: make the net non-trivial
        torch.nn.init.normal_(p, std=0.05, generator=g)
    return generator.save_pretrained(tmp_path_factory.mktemp("m") / "text")
