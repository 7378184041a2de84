"""Shared fixtures: a tiny untrained video generator (fast; for shape and masking contracts)."""

import pytest
import torch

from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.video.codec import VideoCodec
from polydit.video.data import MovingDigitsConfig
from polydit.video.model import VideoModelConfig, build_model
from polydit.video.pipeline import VideoGenerator

TINY = VideoModelConfig(hidden=32, depth=2, heads=2)


def tiny_generator(attention: str = "full", seed: int = 0) -> VideoGenerator:
    torch.manual_seed(seed)
    codec = VideoCodec(frames=8, size=24, channels=1, patch=(1, 8, 8))
    config = VideoModelConfig(hidden=32, depth=2, heads=2, attention=attention)
    model = build_model(config, codec)
    for p in model.parameters():  # leave adaLN-Zero: make the untrained net non-trivial
        torch.nn.init.normal_(p, std=0.05)
    return VideoGenerator(
        model,
        build_process(ProcessConfig()),
        SamplingConfig(steps=3),
        codec=codec,
        model_config=config,
        data_config=MovingDigitsConfig(),
    )


@pytest.fixture
def generator() -> VideoGenerator:
    return tiny_generator()
