"""What the `polydit-policy` verbs beyond the core's do (`collect`, `rollout`, `data export`)
and the helpers its Domain shares with them; light: torch, MuJoCo and MetaWorld load inside."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.errors import ConfigError

if TYPE_CHECKING:
    from polydit.policy.lerobot import ExportReport


def tasks(spec: str | None, generator: Any) -> tuple[str, ...]:
    """The tasks `spec` names (MT10, a comma list), each one the model knows; None: all of them."""
    from polydit.policy.env import resolve_tasks

    tasks = generator.codec.tasks if spec is None else resolve_tasks(spec)
    for task in tasks:
        generator.codec.task_id(task)
    return tasks


def overrides(generator: Any, generation: dict[str, Any]) -> dict[str, Any]:
    """The sampling options of a DiT policy; an MLP-BC baseline takes none."""
    from polydit.policy.pipeline import PolicyGenerator

    return generation if isinstance(generator, PolicyGenerator) else {}


def export_episodes(data: Path, out: Path, fmt: str, videos: bool = False) -> ExportReport:
    """The episodes under `data` (NPZ or LeRobot) written to `out` as a LeRobot v2.1 dataset;
    with `videos`, each one replayed and filmed by the "corner" camera (see
    :func:`polydit.policy.recording.replay_frames`)."""
    from polydit.policy.io import named_episodes
    from polydit.policy.lerobot import Camera, export_lerobot
    from polydit.policy.recording import VIDEO_CAMERA, replay_frames

    if fmt != "lerobot":
        raise ConfigError(f"--format {fmt}: expected lerobot")
    if out.resolve() == data.resolve():
        raise ConfigError("--out: give another directory than --data")
    named = named_episodes(data)
    camera = Camera(VIDEO_CAMERA, lambda i: replay_frames(named[i][1], named[i][0]))
    return export_lerobot([ep for _, ep in named], out, camera=camera if videos else None)


def collect_demos(
    task: str, episodes: int, out: Path, seed: int, action_noise: float, image_size: int | None
) -> list[Any]:
    """Scripted-expert episodes of the tasks `task` names, the successful ones saved under
    `out`; one report line per task as it finishes."""
    import warnings

    from polydit.policy.data import collect
    from polydit.policy.env import resolve_tasks

    warnings.filterwarnings("ignore", category=UserWarning)
    return collect(
        resolve_tasks(task),
        episodes,
        out,
        seed=seed,
        action_noise=action_noise,
        image_size=image_size,
        progress=lambda report: typer.echo(str(report)),
    )


def rollout_episode(
    generator: Any,
    task: str,
    seed: int,
    video: Path | None,
    instruction: str | None,
    generation: dict[str, Any],
) -> dict[str, Any]:
    """One closed-loop episode of `task` (rendered to `video` if given): its summary."""
    from polydit.policy.env import check_task
    from polydit.policy.recording import run_rollout

    check_task(task)
    if instruction is None:
        generator.codec.task_id(task)
    else:
        generation = {**generation, "instruction": instruction}
    return run_rollout(generator, task, seed, video, **overrides(generator, generation))
