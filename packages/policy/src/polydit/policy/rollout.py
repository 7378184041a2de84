"""Closed-loop rollouts: controllers and the evaluation harness.

A controller drives E environments in lockstep: ``reset(E)`` then ``act(obs (E, D), active
(E,) bool) -> actions (E, A)`` each step (rows of inactive environments are ignored). The
harness runs one environment per seed, stops each at success or at its step limit, and reports
success rate, episode lengths and the time spent per predicted chunk. :class:`SingleEnvPolicy`
gives a policy the one-environment face ``reset(task)`` / ``act(obs (D,)) -> action (A,)`` over
the same controller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from polydit.core import progress
from polydit.core.errors import ConfigError
from polydit.policy.env import PolicyEnv

if TYPE_CHECKING:
    from polydit.policy.codec import ActionCodec


class Controller(Protocol):
    def reset(self, num_envs: int) -> None: ...

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray: ...


class ChunkController:
    """Receding horizon: keep the last `n_obs` observations per env; when an env's queue of
    planned actions is empty, predict a chunk (B, H, A) for all such envs at once and queue its
    first `n_action_steps` actions.

    predict(obs_history (B, n_obs, D), call index) -> (B, H, A).
    """

    def __init__(
        self,
        predict: Callable[[np.ndarray, int], np.ndarray],
        *,
        n_obs: int,
        n_action_steps: int,
    ):
        self.predict, self.n_obs, self.n_action_steps = predict, n_obs, n_action_steps
        self.chunk_times: list[float] = []
        self.chunk_batch: list[int] = []

    def reset(self, num_envs: int) -> None:
        self._history: list[list[np.ndarray]] = [[] for _ in range(num_envs)]
        self._queue: list[list[np.ndarray]] = [[] for _ in range(num_envs)]
        self._calls = 0

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        for i in np.flatnonzero(active):
            hist = self._history[i]
            hist.append(obs[i].copy())  # a copy: the caller reuses its observation buffer
            if len(hist) == 1:  # edge padding at the episode start, as in training
                hist.extend([hist[0]] * (self.n_obs - 1))
            del hist[: len(hist) - self.n_obs]
        need = [i for i in np.flatnonzero(active) if not self._queue[i]]
        if need:
            history = np.stack([np.stack(self._history[i]) for i in need])
            started = time.perf_counter()
            chunks = self.predict(history, self._calls)
            self.chunk_times.append(time.perf_counter() - started)
            self.chunk_batch.append(len(need))
            self._calls += 1
            for row, i in enumerate(need):
                self._queue[i] = list(chunks[row, : self.n_action_steps])
        actions = np.zeros((obs.shape[0], self._action_dim(obs)), np.float32)
        for i in np.flatnonzero(active):
            actions[i] = self._queue[i].pop(0)
        return actions

    def _action_dim(self, obs: np.ndarray) -> int:
        for queue in self._queue:
            if queue:
                return len(queue[0])
        return 4


class SingleEnvPolicy:
    """``reset(task, **options)`` then ``act(obs (D,)) -> action (A,)`` once per step of one
    environment: the receding-horizon controller of ``controller(task, **options)`` (what
    :func:`rollout` runs), so an episode driven by ``act`` executes exactly the actions a
    one-environment rollout with the same options executes. Mixed into a policy that has
    ``codec`` (tasks, obs_dim) and ``controller``."""

    codec: ActionCodec
    controller: Callable[..., ChunkController]
    _acting: ChunkController | None = None

    def reset(self, task: str | None = None, **options: Any) -> None:
        """Start an episode of `task` (None: the model's only task). options: those of
        ``controller`` (a DiT's seed, instruction, action_steps, steps, sampler, cache...)."""
        tasks = self.codec.tasks
        if task is None:
            if len(tasks) != 1:
                raise ConfigError(
                    f"task: this model knows {len(tasks)} tasks ({', '.join(tasks)}); "
                    "give reset(task=...)"
                )
            task = tasks[0]
        self._acting = self.controller(task, **options)
        self._acting.reset(1)
        self._rows = np.zeros((1, self.codec.obs_dim), np.float32)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action (A,) float32 to execute after observing `obs` (D,)."""
        if self._acting is None:
            raise ConfigError("act: start an episode with reset(task=...) first")
        obs = np.asarray(obs, np.float32)
        width = self.codec.obs_dim
        if obs.shape != (width,):
            raise ConfigError(f"obs: expected shape ({width},), got {obs.shape}")
        self._rows[0] = obs  # one (1, D) buffer reused each step, as rollout() does
        return self._acting.act(self._rows, np.ones(1, bool))[0]


class ReplayController:
    """Replays recorded action sequences open loop, one per env (for checking the harness)."""

    def __init__(self, actions: Sequence[np.ndarray]):
        self.actions = list(actions)

    def reset(self, num_envs: int) -> None:
        if num_envs != len(self.actions):
            raise ValueError(f"{len(self.actions)} recorded sequences for {num_envs} envs")
        self._t = 0

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        out = np.zeros((obs.shape[0], self.actions[0].shape[1]), np.float32)
        for i, seq in enumerate(self.actions):
            out[i] = seq[min(self._t, len(seq) - 1)]
        self._t += 1
        return out


class ExpertController:
    """MetaWorld's scripted expert, closed loop."""

    def __init__(self, task: str):
        from polydit.policy.env import ScriptedExpert

        self.expert = ScriptedExpert(task)

    def reset(self, num_envs: int) -> None:
        pass

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        return np.stack([self.expert(o) for o in obs])


class RandomController:
    """Uniform random actions in [-1, 1] (a floor for success rates)."""

    def __init__(self, action_dim: int = 4, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.action_dim = action_dim

    def reset(self, num_envs: int) -> None:
        pass

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        return self.rng.uniform(-1, 1, (obs.shape[0], self.action_dim)).astype(np.float32)


@dataclass
class RolloutResult:
    """Per-episode outcomes of one task: success, length (steps until success or the limit)."""

    task: str
    seeds: list[int]
    success: list[bool]
    length: list[int]
    chunk_seconds: list[float] = field(default_factory=list)
    chunk_batch: list[int] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success)) if self.success else 0.0

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.length)) if self.length else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "episodes": len(self.seeds),
            "success_rate": self.success_rate,
            "mean_episode_length": self.mean_length,
        }


def rollout(
    make_env: Callable[[], PolicyEnv],
    controller: Controller,
    seeds: Sequence[int],
    *,
    max_steps: int | None = None,
    num_envs: int = 25,
    render: bool = False,
) -> RolloutResult:
    """Run one episode per seed under `controller` until it succeeds or hits `max_steps`
    (default: the env's limit). Up to `num_envs` environments step in lockstep (the controller
    sees them as one batch); they are reused wave after wave. render: keep the frames of the
    first episode."""
    envs = [make_env() for _ in range(min(num_envs, len(seeds)))]
    task = envs[0].task
    limit = max_steps or envs[0].max_episode_steps
    success: list[bool] = []
    length: list[int] = []
    frames: list[np.ndarray] = []
    progress.expect("episodes", len(seeds))
    for start in range(0, len(seeds), len(envs)):
        wave = [int(s) for s in seeds[start : start + len(envs)]]
        ok, steps = _run_wave(
            envs[: len(wave)], controller, wave, limit, frames if start == 0 and render else None
        )
        success += ok
        length += steps
        progress.advance("episodes", len(wave))
    for env in envs:
        close = getattr(env, "close", None)
        if close is not None:
            close()
    return RolloutResult(
        task=task,
        seeds=[int(s) for s in seeds],
        success=success,
        length=length,
        chunk_seconds=list(getattr(controller, "chunk_times", [])),
        chunk_batch=list(getattr(controller, "chunk_batch", [])),
        frames=frames,
    )


def _run_wave(
    envs: list[PolicyEnv],
    controller: Controller,
    seeds: list[int],
    limit: int,
    frames: list[np.ndarray] | None,
) -> tuple[list[bool], list[int]]:
    """One lockstep episode per env; frames of env 0 are appended to `frames` if given."""
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)])
    controller.reset(len(envs))
    active = np.ones(len(envs), bool)
    success = np.zeros(len(envs), bool)
    length = np.zeros(len(envs), int)
    if frames is not None:
        frames.append(envs[0].render())
    for _ in range(limit):
        actions = controller.act(obs, active)
        for i in np.flatnonzero(active):
            o, _, terminated, truncated, info = envs[i].step(actions[i])
            obs[i] = o
            length[i] += 1
            success[i] = success[i] or bool(info.get("success"))
            if terminated or truncated or success[i] or length[i] >= limit:
                active[i] = False
        if frames is not None and length[0] == len(frames):
            frames.append(envs[0].render())
        if not active.any():
            break
    return success.tolist(), length.tolist()
