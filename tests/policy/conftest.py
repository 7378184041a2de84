"""Shared fixtures: a tiny policy trained by the core recipe on a folder of demonstrations."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from polydit.core.train import RunOptions, fit
from polydit.policy.pipeline import PolicyGenerator
from polydit.policy.train import RECIPE, PolicyTrainSpec

TINY = {"horizon": 4, "n_obs": 2, "n_action_steps": 2, "hidden": 16, "depth": 1, "heads": 2}


@pytest.fixture
def train_tiny(tmp_path: Path) -> Callable[..., PolicyGenerator]:
    """train_tiny(demos, steps, batch_size, **spec fields) → the trained tiny policy."""

    def train(demos: Path, steps: int, batch_size: int, **fields: Any) -> PolicyGenerator:
        train = {"steps": steps, "batch_size": batch_size, "checkpoint_every": steps}
        spec = PolicyTrainSpec().merged({**TINY, **fields, "train": train})
        data = RECIPE.data(spec, str(demos), {})
        fitted = fit(RECIPE, spec, data, RunOptions(tmp_path / "run", progress=False))
        return PolicyGenerator.from_pretrained(fitted.model_dir)

    return train
