"""Single closed-loop episodes of a trained policy, recorded: as an episode file (`sample`),
as a rendered video or a summary (`rollout`, `polydit demo`); and recorded episodes replayed
to film them (`data export --videos`).

A policy is anything with ``codec`` and ``controller(task, **overrides)`` (the DiT or an MLP-BC
baseline); overrides are a DiT's sampling options (steps, sampler, cache, cache_opts...).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write
from polydit.core.errors import DataError
from polydit.policy.env import make_env, metaworld_tasks
from polydit.policy.io import Episode, write_video
from polydit.policy.rollout import Controller, RolloutResult, rollout

VIDEO_CAMERA = "corner"  # MetaWorldEnv's camera: rollout videos, filmstrips, image observations
VIDEO_SIZE = (128, 128)  # (height, width) of the frames of replay_frames
REPLAY_ATOL = 1e-5  # replayed vs stored states: float rounding (one step of noise moves ~1e-4)


class EpisodeRecorder:
    """A single-env controller that keeps what the env showed and what it did."""

    def __init__(self, controller: Any):
        self.controller = controller
        self._obs: list[np.ndarray] = []
        self._act: list[np.ndarray] = []
        self.chunk_times = controller.chunk_times
        self.chunk_batch = controller.chunk_batch

    def reset(self, num_envs: int) -> None:
        self.controller.reset(num_envs)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        actions = self.controller.act(obs, active)
        if active[0]:
            self._obs.append(obs[0].copy())
            self._act.append(actions[0].copy())
        return actions

    def observations(self) -> np.ndarray:
        """(T, D) float32: the observation before each executed action."""
        return np.stack(self._obs).astype(np.float32)

    def actions(self) -> np.ndarray:
        """(T, A) float32: the executed actions."""
        return np.stack(self._act).astype(np.float32)


def record_episode(
    policy: Any, task: str, seed: int, *, max_steps: int | None = None, **overrides: Any
) -> tuple[Episode, RolloutResult]:
    """One episode of `policy` on `task` from environment seed `seed` (at most `max_steps`,
    default the env's limit), as an :class:`Episode` and the harness's result."""
    image_size = policy.codec.image_size or None
    recorder = EpisodeRecorder(policy.controller(task, **overrides))
    result = rollout(
        lambda: make_env(task, image_size=image_size),
        recorder,
        [seed],
        num_envs=1,
        max_steps=max_steps,
    )
    episode = Episode(
        task=task,
        observations=recorder.observations(),
        actions=recorder.actions(),
        success=result.success[0],
        seed=seed,
    )
    return episode, result


def replay_frames(episode: Episode, where: str, size: tuple[int, int] = VIDEO_SIZE) -> np.ndarray:
    """Film a recorded MetaWorld `episode` (named `where` in errors): re-simulate it from its
    task, seed and actions, rendering the "corner" camera before each action: (T, H, W, 3)
    uint8, H, W = `size`.

    The executed action is the stored one plus the collection's noise, N(0, action_noise²)
    drawn from the seed as :func:`polydit.policy.data.run_expert_episode` draws it. Each
    replayed state must equal the stored one (the state part of an image observation)
    to :data:`REPLAY_ATOL`, else a DataError (e.g. an episode recorded with another MetaWorld
    version). RenderingUnavailable without offscreen OpenGL."""
    width, action_dim = episode.observations.shape[1], episode.actions.shape[1]
    if episode.task not in metaworld_tasks():
        raise DataError(f"{where}: task {episode.task!r} is not a MetaWorld task; cannot replay")
    if episode.seed < 0:
        raise DataError(f"{where}: no environment seed (seed {episode.seed}); cannot replay")
    env = make_env(episode.task, render_size=size)
    try:
        if width < env.state_dim or action_dim != env.action_dim:
            raise DataError(
                f"{where}: observations of {width} and actions of {action_dim} entries; "
                f"MetaWorld's are {env.state_dim} (+ pixels) and {env.action_dim}"
            )
        rng = np.random.default_rng(episode.seed)
        stored = episode.observations[:, : env.state_dim]
        state, _ = env.reset(seed=episode.seed)
        frames = []
        for step in range(len(episode)):
            gap = float(np.abs(state - stored[step]).max())
            if not gap <= REPLAY_ATOL:
                raise DataError(
                    f"{where}: replaying {episode.task} from seed {episode.seed} departs from "
                    f"the stored states at step {step} (by {gap:.3g}): recorded with another "
                    "MetaWorld or MuJoCo version? Export it without videos"
                )
            frames.append(env.render())
            if step + 1 < len(episode):
                action = episode.actions[step]
                if episode.action_noise:
                    action = action + rng.normal(0.0, episode.action_noise, action.shape)
                state = env.step(action)[0]
    finally:
        env.close()
    return np.stack(frames)


def run_rollout(
    policy: Any, task: str, seed: int, video: Path | None, **overrides: Any
) -> dict[str, Any]:
    """One closed-loop episode's summary; with `video`, rendered to MP4/GIF
    (RenderingUnavailable if the machine has no offscreen OpenGL)."""
    size = (240, 320) if video is not None else None
    image_size = policy.codec.image_size or None
    if image_size is not None:
        size = None  # the observation frames are the video
    if video is not None and image_size is None:
        probe = make_env(task, render_size=size)
        try:
            probe.render()  # fail fast, before the rollout
        finally:
            probe.close()
    controller: Controller = policy.controller(task, **overrides)
    result = rollout(
        lambda: make_env(task, render_size=size, image_size=image_size),
        controller,
        [seed],
        num_envs=1,
        render=video is not None,
    )
    summary = {
        "task": task,
        "seed": seed,
        "success": bool(result.success[0]),
        "length": int(result.length[0]),
        "chunks": len(result.chunk_seconds),
        "latency_ms_per_chunk": 1000.0 * float(np.median(result.chunk_seconds)),
    }
    if video is not None:
        write_video(video, result.frames, fps=30)
        summary["video"] = str(video)
        strip = video.with_name(f"{video.stem}_filmstrip.png")
        summary["filmstrip"] = str(write_filmstrip(strip, result.frames))
    return summary


def write_filmstrip(path: Path, frames: list[np.ndarray], count: int = 8) -> Path:
    """`count` evenly spaced frames (H, W, 3) uint8 of an episode side by side, first and last
    included, each headed by its step number: a PNG to look at without a video player."""
    from PIL import Image, ImageDraw

    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    h, w = frames[0].shape[:2]
    page = Image.new("RGB", (len(picks) * (w + 4), h + 18), "white")
    pen = ImageDraw.Draw(page)
    for i, step in enumerate(picks):
        page.paste(Image.fromarray(frames[step]), (i * (w + 4), 18))
        pen.text((i * (w + 4) + 4, 3), f"step {step}", fill="black")
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


def demo_rollout(policy: Any, out: Path, seed: int) -> list[tuple[Path, str, str]]:
    """`polydit demo`'s files of a policy: a rendered rollout of push-v3 (else its first task)
    on a held-out seed as ``out/rollout.mp4`` and its filmstrip PNG, or its JSON summary where
    rendering is unavailable. Returns (file relative to `out`, caption, the command that
    reproduces it) per file."""
    from polydit.core.atomic import atomic_write_text
    from polydit.policy.env import RenderingUnavailable

    task = "push-v3" if "push-v3" in policy.codec.tasks else policy.codec.tasks[0]
    seed = max(seed, policy.codec.demo_seed_max + 1, 1000)
    command = f"polydit-policy rollout --task {task} --seed {seed}"
    try:
        summary = run_rollout(policy, task, seed, out / "rollout.mp4")
        shown, file = "MuJoCo offscreen render", Path("rollout.mp4")
        command += " --video rollout.mp4"
    except RenderingUnavailable as e:
        summary = {**run_rollout(policy, task, seed, None), "rendering": str(e)}
        atomic_write_text(out / "rollout.json", json.dumps(summary, indent=2) + "\n")
        shown, file = "text summary: rendering unavailable", Path("rollout.json")
        command += " --json"
    outcome = "success" if summary["success"] else "failure"
    caption = f"{task}, seed {seed}: {outcome} after {summary['length']} steps ({shown})"
    items = [(file, caption, command)]
    if "filmstrip" in summary:
        items.append((Path("rollout_filmstrip.png"), f"{caption}: 8 frames", command))
    return items
