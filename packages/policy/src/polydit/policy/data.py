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
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import ConfigError, DataError
from polydit.core.progress import advance, expect
from polydit.core.train import TrainData
from polydit.policy.codec import ActionCodec, fit_codec
from polydit.policy.env import INSTRUCTIONS, ScriptedExpert, make_env
from polydit.policy.io import Episode, named_episodes, save_episode

if TYPE_CHECKING:
    from polydit.policy.train import PolicyTrainSpec

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

    def __str__(self) -> str:
        return (
            f"{self.task}: kept {self.kept} of {self.attempted} episodes (successful), mean "
            f"length {self.mean_length:.1f}"
        )


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
    expect("episodes", len(tasks) * episodes)  # the CLI's progress bar, if one is shown
    for task in tasks:
        env = make_env(task, image_size=image_size)
        kept, lengths = [], []
        for s in range(seed, seed + episodes):
            episode = run_expert_episode(task, s, action_noise, env)
            advance("episodes")
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


def check_episodes(named: Sequence[tuple[str, Episode]], image_size: int = 0) -> None:
    """A DataError naming the first episode (its file, or "<dir> episode <i>"), the field and
    what was expected, unless every episode is of a MetaWorld task with a scripted expert and
    its observations / actions are as wide as the model's: the 39-d MetaWorld state (plus
    3·S² pixel values with image observations of side S = `image_size`) and the 4-d action."""
    from polydit.policy.env import metaworld_tasks
    from polydit.policy.lerobot import METAWORLD_ACTION, METAWORLD_STATE

    known = metaworld_tasks()
    state = f"the {len(METAWORLD_STATE)}-d MetaWorld state"
    widths = (
        (
            "observations",
            len(METAWORLD_STATE) + 3 * image_size**2,
            f"{state} + 3·{image_size}² pixel values (image_size {image_size})"
            if image_size
            else state,
        ),
        ("actions", len(METAWORLD_ACTION), "the 4-d MetaWorld action"),
    )
    for where, ep in named:
        if ep.task not in known:
            raise DataError(
                f"{where}: task {ep.task!r} is not a MetaWorld task with a scripted expert "
                f"(expected one of {', '.join(known)})"
            )
        for field, width, what in widths:
            found = getattr(ep, field).shape[1]
            if found != width:
                raise DataError(f"{where}: {field} are {found} wide, expected {width} ({what})")


def training_episodes(
    source: str | Path, action_clip: float | None, image_size: int = 0
) -> list[Episode]:
    """The successful episodes under `source` (checked by :func:`check_episodes`), labels
    clipped to ±`action_clip` (see :func:`clip_labels`)."""
    named = [(where, ep) for where, ep in named_episodes(source) if ep.success]
    if not named:
        raise DataError(f"{source}: holds no successful episode to train on")
    check_episodes(named, image_size)
    return clip_labels([ep for _, ep in named], action_clip)


def fit_episode_codec(episodes: Sequence[Episode], *, goal: str, **settings: Any) -> ActionCodec:
    """The codec of a set of episodes: their sorted tasks, min/max stats and largest seed.

    goal "language" adds each task's instruction (``env.INSTRUCTIONS``) and the sentence
    encoder's width. settings: horizon, n_obs, n_action_steps, image_size, patch.
    """
    tasks = tuple(sorted({ep.task for ep in episodes}))
    obs = np.concatenate([ep.observations for ep in episodes])
    act = np.concatenate([ep.actions for ep in episodes])
    language: dict[str, Any] = {}
    if goal == "language":
        from polydit.policy.language import GOAL_DIM

        missing = [t for t in tasks if t not in INSTRUCTIONS]
        if missing:
            raise ConfigError(f"goal 'language': no instruction for task(s) {', '.join(missing)}")
        language = {"goal_dim": GOAL_DIM, "instructions": tuple(INSTRUCTIONS[t] for t in tasks)}
    seed_max = max(ep.seed for ep in episodes)
    return fit_codec(obs, act, tasks, demo_seed_max=seed_max, goal=goal, **language, **settings)


class WindowDataset:
    """The raw training windows of a set of episodes and the codec fitted on them.

    ``batch(idx)`` is the codec's batch: obs (K, n_obs, D), actions (K, H, A) in env units and
    task (K,) indices into ``codec.tasks``.
    """

    def __init__(self, episodes: Sequence[Episode], codec: ActionCodec):
        win = make_windows(episodes, codec.tasks, codec.n_obs, codec.horizon)
        self.codec = codec
        self.obs = torch.from_numpy(win.obs)
        self.actions = torch.from_numpy(win.actions)
        self.task = torch.from_numpy(win.task)

    def __len__(self) -> int:
        return self.task.shape[0]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return self.batch(torch.tensor([i]))

    def batch(self, idx: Tensor) -> dict[str, Tensor]:
        return {"obs": self.obs[idx], "actions": self.actions[idx], "task": self.task[idx]}


def demonstrations(spec: PolicyTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The successful episodes under ``--data`` as raw windows, with the codec fitted on them."""
    if source is None:
        raise ConfigError("--data: give a directory of episodes (create one with `collect`)")
    episodes = training_episodes(source, spec.action_clip, spec.image_size)
    codec = fit_episode_codec(
        episodes,
        goal=spec.goal,
        horizon=spec.horizon,
        n_obs=spec.n_obs,
        n_action_steps=spec.n_action_steps,
        image_size=spec.image_size,
        patch=spec.patch,
    )
    dataset = WindowDataset(episodes, codec)
    return TrainData(dataset, f"{source} ({len(episodes)} episodes, {len(dataset)} windows)")
