"""Demonstrations: collection with MetaWorld's scripted experts, and training windows.

Seeds: demonstration episode ``i`` of a collection uses environment seed ``seed + i``
(``collect --seed``, default 0); evaluation uses seeds from 1000 (``EVAL_SEED``) on, and the
evaluation refuses seeds that a model was trained on (the model stores its largest demo seed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError
from polydit.policy.env import ScriptedExpert, make_env
from polydit.policy.io import Episode, save_episode

EVAL_SEED = 1000
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CollectReport:
    """How one task's collection went: episodes attempted and kept (successful)."""

    task: str
    attempted: int
    kept: int
    seeds: tuple[int, ...]
    mean_length: float


def run_expert_episode(task: str, seed: int, action_noise: float = 0.0, env=None) -> Episode:
    """Roll out the scripted expert of `task` from environment seed `seed`.

    The executed action is the expert's plus N(0, action_noise²) (noise drawn from `seed`), the
    recorded label is the expert's clean action, so noisy runs show how to recover (DART-style).
    """
    env = env or make_env(task)
    state_dim = getattr(env, "state_dim", None)  # image observations: the expert reads the state
    expert = ScriptedExpert(task)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    observations, actions, success = [], [], False
    for _ in range(env.max_episode_steps):
        action = expert(obs[:state_dim])
        observations.append(obs)
        actions.append(action)
        executed = action + rng.normal(0.0, action_noise, action.shape) if action_noise else action
        obs, _, terminated, truncated, info = env.step(executed)
        success = bool(info["success"])
        if terminated or truncated:
            break
    return Episode(
        task=task,
        observations=np.stack(observations).astype(np.float32),
        actions=np.stack(actions).astype(np.float32),
        success=success,
        seed=seed,
        action_noise=action_noise,
    )


def collect(
    tasks: Sequence[str],
    episodes: int,
    out: str | Path,
    *,
    seed: int = 0,
    action_noise: float = 0.0,
    image_size: int | None = None,
    progress: Callable[[CollectReport], None] | None = None,
) -> list[CollectReport]:
    """Attempt `episodes` expert episodes per task (seeds ``seed .. seed+episodes-1``), keep only
    the successful ones as ``out/<task>/seed_<seed>.npz`` and write ``out/manifest.json``.
    image_size: record image observations (state + S×S frame, see MetaWorldEnv)."""
    if episodes < 1:
        raise DataError(f"--episodes must be ≥ 1, got {episodes}")
    if seed + episodes > EVAL_SEED and seed < EVAL_SEED + 10_000:
        raise DataError(
            f"demonstration seeds {seed}..{seed + episodes - 1} overlap the evaluation seeds "
            f"(from {EVAL_SEED}); use --seed with seed + episodes ≤ {EVAL_SEED}"
        )
    out = Path(out)
    reports = []
    for task in tasks:
        env = make_env(task, image_size=image_size)
        kept, lengths = [], []
        for s in range(seed, seed + episodes):
            episode = run_expert_episode(task, s, action_noise, env)
            if episode.success:
                save_episode(out / task / f"seed_{s:05d}.npz", episode)
                kept.append(s)
                lengths.append(len(episode))
        env.close()
        report = CollectReport(
            task, episodes, len(kept), tuple(kept), float(np.mean(lengths)) if lengths else 0.0
        )
        reports.append(report)
        if progress is not None:
            progress(report)
    manifest = {
        "format": 1,
        "action_noise": action_noise,
        "image_size": image_size,
        "tasks": {
            r.task: {
                "attempted": r.attempted,
                "kept": r.kept,
                "mean_length": r.mean_length,
                "seeds": list(r.seeds),
            }
            for r in reports
        },
    }
    previous = _read_manifest(out)
    if previous:
        manifest["tasks"] = {**previous.get("tasks", {}), **manifest["tasks"]}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return reports


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: unreadable manifest ({e})") from None


def clip_labels(episodes: Sequence[Episode], limit: float | None) -> list[Episode]:
    """Episodes whose action labels are clipped to [-limit, limit] (None: unchanged).

    MetaWorld's scripted experts are P-controllers whose raw actions reach about ±12, but the
    environment clips every action to [-1, 1]; clipping the labels keeps what is executed and
    stops the rare large values from stretching the min-max normalisation (with raw labels the
    whole executable range [-1, 1] occupies a tenth of the normalised range).
    """
    if limit is None:
        return list(episodes)
    return [
        replace(ep, actions=np.clip(ep.actions, -limit, limit).astype(np.float32))
        for ep in episodes
    ]


def history_indices(t: int, n_obs: int) -> np.ndarray:
    """Observation indices t-n_obs+1 .. t, clamped at the episode start (edge padding)."""
    return np.maximum(np.arange(t - n_obs + 1, t + 1), 0)


def chunk_indices(t: int, horizon: int, length: int) -> np.ndarray:
    """Action indices t .. t+H-1, clamped at the episode end (edge padding, as Diffusion Policy)."""
    return np.minimum(np.arange(t, t + horizon), length - 1)


@dataclass
class Windows:
    """Every training window of a set of episodes (one per time step).

    obs (W, n_obs, D) float32, actions (W, H, A) float32, task (W,) int64 (index in `tasks`).
    """

    obs: np.ndarray
    actions: np.ndarray
    task: np.ndarray
    tasks: tuple[str, ...]


def make_windows(
    episodes: Sequence[Episode], tasks: Sequence[str], n_obs: int, horizon: int
) -> Windows:
    """Cut episodes into (observation history, action chunk, task id) windows."""
    index = {t: i for i, t in enumerate(tasks)}
    obs, act, task = [], [], []
    for ep in episodes:
        if ep.task not in index:
            raise DataError(f"episode of task {ep.task!r} is not in the model's tasks {tasks}")
        n = len(ep)
        hist = np.stack([history_indices(t, n_obs) for t in range(n)])
        chunk = np.stack([chunk_indices(t, horizon, n) for t in range(n)])
        obs.append(ep.observations[hist])
        act.append(ep.actions[chunk])
        task.append(np.full(n, index[ep.task], np.int64))
    if not obs:
        raise DataError("no episodes to train on")
    return Windows(np.concatenate(obs), np.concatenate(act), np.concatenate(task), tuple(tasks))
