"""The user-facing API: shipped models by name, gymnasium spaces, reset()/act() on one env."""

from pathlib import Path

import numpy as np
import pytest

from polydit.core.errors import ConfigError
from polydit.policy.data import run_expert_episode
from polydit.policy.env import CONTROL_HZ, MT10, make_env
from polydit.policy.recording import record_episode


@pytest.fixture(scope="module")
def shipped():
    from polydit.policy import PolicyGenerator

    return PolicyGenerator.from_pretrained("mt10-dit")


def test_a_shipped_name_loads_from_any_directory(
    shipped, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polydit.policy import PolicyGenerator

    monkeypatch.chdir(tmp_path)
    again = PolicyGenerator.from_pretrained("mt10-dit")
    assert again.codec == shipped.codec and set(again.codec.tasks) == set(MT10)
    with pytest.raises(
        ConfigError, match=r"name_or_dir nope: .*\(mlp-bc-chunked, mlp-bc-single, mt10-dit\)"
    ):
        PolicyGenerator.from_pretrained("nope")
    with pytest.raises(ConfigError, match=r"MLP-BC baseline.*polydit\.policy\.load_pretrained"):
        PolicyGenerator.from_pretrained("mlp-bc-single")


def test_spaces_hold_what_the_env_observes_and_accepts() -> None:
    env = make_env("push-v3")
    space, actions = env.observation_space, env.action_space
    assert space.shape == (39,) and space.dtype == np.float32
    assert actions.shape == (4,) and (actions.low == -1).all() and (actions.high == 1).all()
    episode = run_expert_episode("push-v3", 1000)
    assert all(space.contains(o) for o in episode.observations)
    goal = space.low[-3:], space.high[-3:]
    assert (goal[0] < goal[1]).any()  # the goal is bounded by its box, not pinned to 0
    actions.seed(0)
    obs, *_ = env.step(actions.sample())
    assert space.contains(obs)
    assert 1 / env._env.dt == CONTROL_HZ
    image = make_env("reach-v3", image_size=8)
    assert image.observation_space.shape == (39 + 8 * 8 * 3,)
    assert image.observation_space.high[-1] == 1 and image.observation_space.low[-1] == 0


def test_act_over_an_episode_executes_the_rollouts_actions(shipped) -> None:
    recorded, result = record_episode(shipped, "reach-v3", 1000)
    env = make_env("reach-v3")
    obs, _ = env.reset(seed=1000)
    shipped.reset("reach-v3")
    acted = []
    for _ in range(env.max_episode_steps):
        action = shipped.act(obs)
        assert action.shape == (4,) and action.dtype == np.float32
        acted.append(action)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    np.testing.assert_array_equal(np.stack(acted), recorded.actions)
    assert result.success == [bool(terminated)]
    shipped.reset("reach-v3", seed=7)  # other noise seeds: another first chunk
    first = shipped.act(env.reset(seed=1000)[0])
    assert not np.array_equal(first, recorded.actions[0])


def test_act_errors_name_the_argument(shipped) -> None:
    from polydit.policy import PolicyGenerator

    fresh = PolicyGenerator.from_pretrained("mt10-dit")
    with pytest.raises(ConfigError, match=r"act: start an episode with reset\(task=...\)"):
        fresh.act(np.zeros(39))
    with pytest.raises(ConfigError, match="task: this model knows 10 tasks"):
        fresh.reset()
    fresh.reset("push-v3")
    with pytest.raises(ConfigError, match=r"obs: expected shape \(39,\), got \(2, 39\)"):
        fresh.act(np.zeros((2, 39)))


def test_an_mlp_baseline_acts_as_its_rollout() -> None:
    from polydit.policy import load_pretrained

    baseline = load_pretrained("mlp-bc-chunked")
    recorded, _ = record_episode(baseline, "push-v3", 1000, max_steps=10)
    env = make_env("push-v3")
    obs, _ = env.reset(seed=1000)
    baseline.reset("push-v3")
    acted = []
    for _ in range(10):
        acted.append(baseline.act(obs))
        obs, *_ = env.step(acted[-1])
    np.testing.assert_array_equal(np.stack(acted), recorded.actions)
