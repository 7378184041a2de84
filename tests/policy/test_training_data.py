"""Training data is checked before training (issue 21): an episode of an unknown task, or whose
observation / action widths are not the model's, is one clear error naming the file, the field
and what was expected."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from polydit.core.errors import DataError
from polydit.policy.cli import app
from polydit.policy.io import Episode, save_episode
from polydit.policy.lerobot import export_lerobot
from polydit.policy.train import RECIPE, PolicyTrainSpec

SPEC = PolicyTrainSpec().merged({"horizon": 4, "n_obs": 2, "n_action_steps": 2})


def _episode(task: str = "push-v3", obs_dim: int = 39, action_dim: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return Episode(
        task=task,
        observations=rng.normal(size=(6, obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (6, action_dim)).astype(np.float32),
        success=True,
        seed=seed,
    )


def _demos(root: Path, *odd: Episode) -> Path:
    """A folder with one good push-v3 episode (seed_00000.npz) and `odd` ones after it."""
    for i, ep in enumerate((_episode(), *odd)):
        save_episode(root / "demos" / f"seed_{i:05d}.npz", ep)
    return root / "demos"


@pytest.mark.parametrize(
    ("odd", "message"),
    [
        (
            _episode(task="make-coffee-v9", seed=1),
            r"seed_00001\.npz: task 'make-coffee-v9' is not a MetaWorld task with a scripted "
            r"expert \(expected one of .*push-v3",
        ),
        (
            _episode(obs_dim=40, seed=1),
            r"seed_00001\.npz: observations are 40 wide, expected 39 \(the 39-d MetaWorld state\)",
        ),
        (
            _episode(action_dim=3, seed=1),
            r"seed_00001\.npz: actions are 3 wide, expected 4 \(the 4-d MetaWorld action\)",
        ),
    ],
    ids=["unknown-task", "observation-width", "action-width"],
)
def test_a_bad_episode_is_named_with_its_field(tmp_path: Path, odd: Episode, message: str) -> None:
    with pytest.raises(DataError, match=message):
        RECIPE.data(SPEC, str(_demos(tmp_path, odd)), {})


def test_image_observations_must_hold_the_pixels_the_config_asks_for(tmp_path: Path) -> None:
    spec = SPEC.merged({"image_size": 8})
    with pytest.raises(
        DataError,
        match=r"seed_00000\.npz: observations are 39 wide, expected 231 \(the 39-d MetaWorld "
        r"state \+ 3·8² pixel values \(image_size 8\)\)",
    ):
        RECIPE.data(spec, str(_demos(tmp_path)), {})
    assert RECIPE.data(SPEC, str(_demos(tmp_path)), {}).dataset.codec.obs_dim == 39


def test_a_lerobot_episode_is_named_by_its_index(tmp_path: Path) -> None:
    out = tmp_path / "lerobot"
    export_lerobot([_episode(), _episode("not-a-task", seed=1)], out)
    with pytest.raises(DataError, match=rf"{out} episode 1: task 'not-a-task' is not a MetaWorld"):
        RECIPE.data(SPEC, str(out), {})


def test_train_refuses_mixed_widths_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"horizon": 4, "n_obs": 2, "n_action_steps": 2, "depth": 1}))
    demos = _demos(tmp_path, _episode(obs_dim=12, seed=1))
    out = tmp_path / "run"
    args = ["train", "--data", demos, "--config", config, "--steps", 1, "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "seed_00001.npz: observations are 12 wide, expected 39" in lines[0]
    assert not out.exists() or not any(out.iterdir())
