"""The environment interface: task names, seeded resets, the scripted-expert harness check."""

import numpy as np
import pytest

from polydit.core.errors import ConfigError
from polydit.policy.data import run_expert_episode
from polydit.policy.env import MT10, PolicyEnv, check_task, make_env, resolve_tasks
from polydit.policy.rollout import ExpertController, RandomController, ReplayController, rollout


def test_bad_task_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown task 'pushh'.*push-v3.*reach-v3"):
        check_task("pushh")
    with pytest.raises(ConfigError, match="unknown task"):
        make_env("not-a-task")
    assert resolve_tasks("MT10") == MT10
    assert resolve_tasks("reach-v3, push-v3") == ("reach-v3", "push-v3")


def test_seed_fixes_the_initial_configuration() -> None:
    env = make_env("push-v3")
    assert isinstance(env, PolicyEnv)
    a, _ = env.reset(seed=1000)
    b, _ = env.reset(seed=1001)
    c, _ = env.reset(seed=1000)
    assert a.shape == (39,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, c)
    assert not np.allclose(a, b)


def test_replaying_expert_actions_reaches_the_expert_success() -> None:
    """The harness reproduces what the expert recorded: same seeds, same actions, same outcome."""
    seeds = [1000, 1001]
    episodes = [run_expert_episode("reach-v3", s) for s in seeds]
    assert all(ep.success for ep in episodes)
    result = rollout(
        lambda: make_env("reach-v3"), ReplayController([e.actions for e in episodes]), seeds
    )
    assert result.success == [True, True]
    assert result.length == [len(e) for e in episodes]
    expert = rollout(lambda: make_env("reach-v3"), ExpertController("reach-v3"), seeds)
    assert expert.success_rate == 1.0 and expert.length == result.length


def test_random_actions_fail() -> None:
    result = rollout(lambda: make_env("push-v3"), RandomController(seed=0), [1000], max_steps=60)
    assert result.success == [False] and result.length == [60]
