"""Slow: a tiny policy DiT trained briefly on one task beats a random policy in closed loop."""

from pathlib import Path

import pytest

from polydit.core.train import RunOptions, TrainConfig, fit
from polydit.policy.data import collect
from polydit.policy.env import make_env
from polydit.policy.metrics import eval_seeds, evaluate_policy
from polydit.policy.rollout import RandomController, rollout
from polydit.policy.train import RECIPE, PolicyTrainSpec


@pytest.mark.slow
def test_tiny_policy_beats_random_on_reach(tmp_path: Path) -> None:
    reports = collect(["reach-v3"], 20, tmp_path / "demos", seed=0, action_noise=0.1)
    assert reports[0].kept >= 15
    spec = PolicyTrainSpec(
        horizon=8,
        n_obs=2,
        n_action_steps=4,
        hidden=64,
        depth=2,
        heads=2,
        sampling_steps=5,
        train=TrainConfig(
            steps=600, batch_size=64, lr=1e-3, warmup_steps=50, ema_decay=0.99, log_every=100
        ),
    )
    data = RECIPE.data(spec, str(tmp_path / "demos"), {})
    policy = fit(RECIPE, spec, data, RunOptions(tmp_path / "run", progress=False)).pipeline
    seeds = eval_seeds(1000, 10, policy.codec.demo_seed_max)
    metrics, _ = evaluate_policy(policy, ["reach-v3"], seeds, num_envs=10, max_steps=200)
    random = rollout(lambda: make_env("reach-v3"), RandomController(seed=0), seeds, max_steps=200)
    assert metrics["success_rate"] >= 0.5
    assert metrics["success_rate"] > random.success_rate
