"""Shared fixtures: a tiny untrained video generator (fast; for shape and masking contracts)."""

import pytest
import torch

from polydit.core.dit import DiT
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.video.codec import VideoCodec
from polydit.video.data import MovingDigitsConfig
from polydit.video.model import VideoModelConfig
from polydit.video.pipeline import VideoGenerator


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
