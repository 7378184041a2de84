"""Shared fixtures: a tiny untrained image model saved as a pretrained directory."""

from pathlib import Path

import pytest

from polydit.image.data import load_digits_set
from polydit.image.train import ImageTrainSpec, build


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained 'micro' digits generator (random weights, seed 0) on disk."""
    generator = build(ImageTrainSpec(preset="micro"), load_digits_set("train"), seed=0)
    return generator.save_pretrained(tmp_path_factory.mktemp("micro") / "model")
