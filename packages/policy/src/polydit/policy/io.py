"""The episode file format (NPZ) and rollout videos (MP4/GIF).

One demonstration = one ``.npz`` file (numpy ``savez_compressed``) holding:

==================  ==============  =========================================================
key                 dtype, shape    meaning
==================  ==============  =========================================================
``format``          int64 ()        format version, currently 1
``task``            str ()          task name, e.g. ``push-v3``
``observations``    float32 (T, D)  the state the policy saw before each action
``actions``         float32 (T, A)  the expert's action at each step (the label; the executed
                                    action may carry extra noise, see ``action_noise``)
``success``         bool ()         whether the episode reached ``info["success"]``
``seed``            int64 ()        the environment seed of the episode (initial placement)
``action_noise``    float64 ()      std of the Gaussian noise added to the executed actions
==================  ==============  =========================================================

A collection directory holds ``<task>/seed_<seed>.npz`` files and a ``manifest.json``.
Wherever a directory of episodes is read (``train --data``, ``data show``), a LeRobot dataset
directory works too (:mod:`polydit.policy.lerobot`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write
from polydit.core.errors import DataError

FORMAT = 1
KEYS = ("format", "task", "observations", "actions", "success", "seed", "action_noise")


@dataclass
class Episode:
    """One episode: observations (T, D) float32, actions (T, A) float32 and its metadata."""

    task: str
    observations: np.ndarray
    actions: np.ndarray
    success: bool
    seed: int
    action_noise: float = 0.0

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def save_episode(path: str | Path, episode: Episode) -> Path:
    """Write `episode` atomically as a compressed NPZ."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        format=np.int64(FORMAT),
        task=np.str_(episode.task),
        observations=np.asarray(episode.observations, np.float32),
        actions=np.asarray(episode.actions, np.float32),
        success=np.bool_(episode.success),
        seed=np.int64(episode.seed),
        action_noise=np.float64(episode.action_noise),
    )
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


def load_episode(path: str | Path) -> Episode:
    """Read an episode file; a DataError names the file, the field and what was expected."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise DataError(
                    f"{path}: not a polydit-policy episode (missing {', '.join(missing)}; "
                    f"expected keys {', '.join(KEYS)})"
                )
            arrays = {k: data[k] for k in KEYS}
    except FileNotFoundError:
        raise DataError(f"{path}: no such episode file") from None
    except DataError:
        raise
    except Exception as e:  # numpy/zipfile/zlib raise many types on a corrupt archive
        raise DataError(
            f"{path}: corrupt or truncated episode file ({type(e).__name__}: {e})"
        ) from None
    field = _FieldReader(path, arrays)
    version = field.scalar("format", "iu", "an integer")
    if version != FORMAT:
        raise DataError(f"{path}: episode format {version}, expected {FORMAT}")
    obs, act = field.matrix("observations"), field.matrix("actions")
    if obs.shape[0] != act.shape[0] or obs.shape[0] == 0:
        raise DataError(
            f"{path}: observations {obs.shape} and actions {act.shape} must be (T, D) and "
            "(T, A) with the same T ≥ 1"
        )
    action_noise = field.scalar("action_noise", "fiu", "a number")
    if not np.isfinite(action_noise) or action_noise < 0:
        raise DataError(f"{path}: field 'action_noise' is {action_noise}, expected a number ≥ 0")
    return Episode(
        task=field.scalar("task", "U", "a task name"),
        observations=obs,
        actions=act,
        success=field.scalar("success", "biu", "a bool"),
        seed=field.scalar("seed", "iu", "an integer"),
        action_noise=action_noise,
    )


class _FieldReader:
    """Typed reads of an episode file's arrays; a DataError names the file and the field."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        self.path, self.arrays = path, arrays

    def _wrong(self, key: str, expected: str) -> DataError:
        array = self.arrays[key]
        return DataError(
            f"{self.path}: field {key!r} is an array of dtype {array.dtype} and shape "
            f"{array.shape}, expected {expected}"
        )

    def scalar(self, key: str, kinds: str, expected: str) -> Any:
        """The 0-d array `key` of a dtype kind in `kinds` as a Python value (bool for "b",
        str for "U", int for "iu", float for "f")."""
        array = self.arrays[key]
        if array.ndim != 0 or array.dtype.kind not in kinds:
            raise self._wrong(key, expected)
        if kinds.startswith("b"):
            if array.dtype.kind != "b" and int(array) not in (0, 1):
                raise self._wrong(key, expected)
            return bool(array)
        if "f" in kinds:
            return float(array)
        return str(array) if array.dtype.kind == "U" else int(array)

    def matrix(self, key: str) -> np.ndarray:
        """The (T, D) real array `key`, finite, as float32."""
        array = self.arrays[key]
        if array.ndim != 2 or array.dtype.kind not in "fiu":
            raise self._wrong(key, "a (T, D) array of numbers")
        with np.errstate(over="ignore"):
            values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise DataError(
                f"{self.path}: field {key!r} holds NaN, inf or values beyond float32's range"
            )
        return values


def episode_files(directory: str | Path) -> list[Path]:
    """Every ``*.npz`` under `directory` (recursively), sorted; a DataError if there is none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such episode directory (create it with `collect`)")
    files = sorted(directory.rglob("*.npz"))
    if not files:
        raise DataError(f"{directory}: holds no *.npz episode files (create them with `collect`)")
    return files


def named_episodes(directory: str | Path) -> list[tuple[str, Episode]]:
    """(where, episode) of every episode under `directory`: its NPZ files in file-name order,
    or a LeRobot dataset's episodes in episode order (where: "<dir> episode <i>")."""
    from polydit.policy.lerobot import is_lerobot, load_lerobot

    if is_lerobot(directory):
        return [(f"{directory} episode {i}", ep) for i, ep in enumerate(load_lerobot(directory))]
    return [(str(p), load_episode(p)) for p in episode_files(directory)]


def load_episodes(directory: str | Path) -> list[Episode]:
    """Every episode under `directory` (NPZ files or a LeRobot dataset, see
    :func:`named_episodes`)."""
    return [ep for _, ep in named_episodes(directory)]


def write_video(path: str | Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """Write frames (H, W, 3) uint8 as MP4 (H.264 via PyAV) or GIF, chosen by the suffix."""
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise DataError(f"{path}: video must end in .mp4 or .gif")
    stack = np.stack(frames)
    if suffix == ".mp4":
        data = iio.imwrite(
            "<bytes>", stack, extension=".mp4", plugin="pyav", codec="libx264", fps=fps
        )
    else:
        data = iio.imwrite("<bytes>", stack, extension=".gif", duration=1000 / fps, loop=0)
    return atomic_write(path, lambda f: f.write(data))


def describe_episodes(directory: str | Path, num: int) -> list[str]:
    """Lines describing the episodes under `directory`: per task, counts, lengths, dims and
    seeds; then the first `num` episodes, each with its length, outcome, seed and first action."""
    named = named_episodes(directory)
    by_task: dict[str, list[Episode]] = {}
    for _, ep in named:
        by_task.setdefault(ep.task, []).append(ep)
    lines = []
    for task, eps in sorted(by_task.items()):
        lengths = [len(e) for e in eps]
        lines.append(
            f"{task}: {len(eps)} episodes, {sum(e.success for e in eps)} successful, "
            f"length mean {sum(lengths) / len(lengths):.1f} (min {min(lengths)}, max "
            f"{max(lengths)}), obs dim {eps[0].observations.shape[1]}, action dim "
            f"{eps[0].actions.shape[1]}, seeds {min(e.seed for e in eps)}.."
            f"{max(e.seed for e in eps)}"
        )
    for where, ep in named[:num]:
        lines.append(
            f"  {where}: T={len(ep)} success={ep.success} seed={ep.seed} "
            f"first action={[round(float(a), 3) for a in ep.actions[0]]}"
        )
    return lines
