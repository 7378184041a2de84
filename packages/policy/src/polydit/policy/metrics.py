"""Closed-loop evaluation: success rate, mean episode length and latency per chunk.

Protocol (Diffusion Policy / MetaWorld): one episode per environment seed, seeds
``seed .. seed+episodes-1`` disjoint from the demonstration seeds; an episode succeeds if
``info["success"]`` is reached within the step limit (500 for MetaWorld) and stops there.
The episode length of a failure is the limit. Latency per chunk is the wall time of one
chunk prediction for one environment (batch 1), measured separately from the batched rollouts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from polydit.core.errors import ConfigError
from polydit.policy.env import make_env
from polydit.policy.rollout import RolloutResult, rollout


def eval_seeds(seed: int, episodes: int, demo_seed_max: int) -> list[int]:
    """Seeds of an evaluation; a ConfigError if they overlap the demonstration seeds."""
    if episodes < 1:
        raise ConfigError(f"--episodes must be ≥ 1, got {episodes}")
    if seed <= demo_seed_max:
        raise ConfigError(
            f"--seed {seed}: evaluation seeds must be disjoint from the demonstration seeds "
            f"(0..{demo_seed_max} for this model); use --seed {demo_seed_max + 1} or more "
            "(the protocol uses 1000)"
        )
    return list(range(seed, seed + episodes))


def evaluate_policy(
    policy: Any,
    tasks: Sequence[str],
    seeds: Sequence[int],
    *,
    num_envs: int = 25,
    max_steps: int | None = None,
    latency_calls: int = 5,
    action_steps: int | None = None,
    **predict_overrides: Any,
) -> tuple[dict[str, float], list[RolloutResult]]:
    """Roll out `policy` (anything with ``controller(task)`` and ``predict(history, task)``)
    on every task and seed. Returns the flat metrics and the per-task results.
    action_steps: actions executed per chunk (a DiT policy's k; None: the model's)."""
    controller_options = {} if action_steps is None else {"action_steps": action_steps}
    results = []
    image_size = policy.codec.image_size or None
    for task in tasks:
        controller = policy.controller(task, **predict_overrides, **controller_options)
        results.append(
            rollout(
                lambda task=task: make_env(task, image_size=image_size),
                controller,
                seeds,
                num_envs=num_envs,
                max_steps=max_steps,
            )
        )
    metrics: dict[str, float] = {
        "success_rate": float(np.mean([r.success_rate for r in results])),
        "mean_episode_length": float(np.mean([r.mean_length for r in results])),
        "episodes_per_task": float(len(seeds)),
        "latency_ms_per_chunk": chunk_latency_ms(
            policy, tasks[0], latency_calls, **predict_overrides
        ),
    }
    for r in results:
        metrics[f"{r.task}.success_rate"] = r.success_rate
        metrics[f"{r.task}.mean_episode_length"] = r.mean_length
    return metrics, results


def chunk_latency_ms(policy: Any, task: str, calls: int = 5, **overrides: Any) -> float:
    """Median wall time (ms) of one chunk prediction for one environment (batch 1)."""
    codec = policy.codec
    env = make_env(task, image_size=codec.image_size or None)
    obs, _ = env.reset(seed=0)
    env.close()
    history = np.repeat(obs[None, None], codec.n_obs, axis=1)
    policy.predict(history, task, **overrides)  # warm-up
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        policy.predict(history, task, **overrides)
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))
