"""LeRobot-format datasets (layout v2.1) beside our NPZ episodes: export and import.

A dataset directory::

    meta/info.json             codebase_version "v2.1", fps, features (dtype, shape, names),
                               total_episodes, total_frames, total_tasks, splits, data_path, ...
    meta/episodes.jsonl        one line per episode: episode_index, tasks, length (+ our seed,
                               success, action_noise)
    meta/episodes_stats.jsonl  one line per episode: min/max/mean/std/count of every feature
    meta/tasks.jsonl           one line per task: task_index, task (the instruction where we
                               have one, else the task name) + metaworld_task (the name)
    data/chunk-000/episode_000000.parquet   one row per frame
    videos/chunk-000/observation.images.corner/episode_000000.mp4   with a camera: one frame
                               per row, at fps (H.264, yuv420p)

Columns of an episode's parquet file (T rows): ``observation.state`` list<float32> (D),
``action`` list<float32> (A), ``timestamp`` float32 (frame / fps), ``frame_index``,
``episode_index``, ``index`` (over the whole dataset), ``task_index`` int64, ``next.done`` bool
(the last frame) and ``next.success`` bool (the last frame of a successful episode). A video
feature (dtype "video", shape [H, W, 3], ``info`` with its fps, codec and pixel format) has no
column: its frames are in the episode's MP4 at ``video_path``; its statistics are per channel
over the frames scaled to [0, 1] (shape [3, 1, 1]), as LeRobot's.

Import reads any v2.x dataset with these two vector columns: the task of an episode is its
``metaworld_task``, else a MetaWorld task whose instruction is the ``task`` text, else the text
itself; success, seed and action noise come from ``episodes.jsonl`` where present, else the
last ``next.success`` (or True: a demonstration), -1 (no environment seed) and 0. Videos are
not read: our policies train on the state.
"""

from __future__ import annotations

import io
import json
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write, atomic_write_text, staged_directory
from polydit.core.errors import DataError
from polydit.core.progress import advance, expect
from polydit.policy.env import CONTROL_HZ, INSTRUCTIONS
from polydit.policy.io import Episode, write_video

CODEBASE_VERSION = "v2.1"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
INFO = Path("meta/info.json")
_INDEX_SPEC = re.compile(r"0?\d{0,2}d?")  # a data_path field's format: none, "d", "06d", ...

_POSE = ("x", "y", "z", "qw", "qx", "qy", "qz")
_FRAME = ("hand_x", "hand_y", "hand_z", "gripper_distance")
_FRAME += tuple(f"obj1_{p}" for p in _POSE) + tuple(f"obj2_{p}" for p in _POSE)
#: the 39 entries of a MetaWorld state: this frame, the previous frame, the goal position
METAWORLD_STATE = (*_FRAME, *(f"prev_{n}" for n in _FRAME), "goal_x", "goal_y", "goal_z")
METAWORLD_ACTION = ("delta_x", "delta_y", "delta_z", "gripper_effort")


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_lerobot` wrote."""

    out: Path
    episodes: int
    frames: int
    tasks: int
    videos: int = 0

    def __str__(self) -> str:
        videos = f" and {self.videos} videos" if self.videos else ""
        return (
            f"wrote {self.episodes} episodes ({self.frames} frames, {self.tasks} tasks){videos} "
            f"as a LeRobot {CODEBASE_VERSION} dataset in {self.out}"
        )


@dataclass(frozen=True)
class Camera:
    """One camera of an export: ``frames(i)`` are episode i's pictures, (T_i, H, W, 3) uint8,
    one per frame (what the camera saw before each action), written as the video
    ``observation.images.<name>``."""

    name: str
    frames: Callable[[int], np.ndarray]

    @property
    def key(self) -> str:
        return f"observation.images.{self.name}"


def is_lerobot(directory: str | Path) -> bool:
    """Whether `directory` is a LeRobot dataset (holds meta/info.json)."""
    return (Path(directory) / INFO).is_file()


def _features(obs_dim: int, action_dim: int) -> dict[str, dict[str, Any]]:
    state = list(METAWORLD_STATE) if obs_dim == len(METAWORLD_STATE) else None
    action = list(METAWORLD_ACTION) if action_dim == len(METAWORLD_ACTION) else None
    scalar = {"shape": [1], "names": None}
    return {
        "observation.state": {"dtype": "float32", "shape": [obs_dim], "names": state},
        "action": {"dtype": "float32", "shape": [action_dim], "names": action},
        "timestamp": {"dtype": "float32", **scalar},
        "frame_index": {"dtype": "int64", **scalar},
        "episode_index": {"dtype": "int64", **scalar},
        "index": {"dtype": "int64", **scalar},
        "task_index": {"dtype": "int64", **scalar},
        "next.done": {"dtype": "bool", **scalar},
        "next.success": {"dtype": "bool", **scalar},
    }


def _frames(episode: Episode, index: int, first: int, task_index: int, fps: int) -> dict:
    """The columns of one episode: vectors (T, D)/(T, A), the rest (T,)."""
    t = len(episode)
    last = np.arange(t) == t - 1
    return {
        "observation.state": np.asarray(episode.observations, np.float32),
        "action": np.asarray(episode.actions, np.float32),
        "timestamp": (np.arange(t) / fps).astype(np.float32),
        "frame_index": np.arange(t, dtype=np.int64),
        "episode_index": np.full(t, index, np.int64),
        "index": np.arange(first, first + t, dtype=np.int64),
        "task_index": np.full(t, task_index, np.int64),
        "next.done": last,
        "next.success": last & episode.success,
    }


def _image_stats(frames: np.ndarray) -> dict[str, list[Any]]:
    """LeRobot's statistics of a camera over frames (T, H, W, 3) uint8: per channel, scaled to
    [0, 1], each (3, 1, 1) as nested lists; count [T]."""
    v = frames.reshape(-1, 3).astype(np.float64) / 255.0
    per_channel = {"min": v.min(0), "max": v.max(0), "mean": v.mean(0), "std": v.std(0)}
    out: dict[str, list[Any]] = {k: s.reshape(3, 1, 1).tolist() for k, s in per_channel.items()}
    return {**out, "count": [len(frames)]}


def _video_feature(path: Path, fps: int) -> dict[str, Any]:
    """The info.json feature of the camera whose video `path` is, read from the file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
        height, width = stream.height, stream.width
    return {
        "dtype": "video",
        "shape": [height, width, 3],
        "names": ["height", "width", "channels"],
        "info": {
            "video.fps": float(fps),
            "video.height": height,
            "video.width": width,
            "video.channels": 3,
            "video.codec": codec,
            "video.pix_fmt": pix_fmt,
            "video.is_depth_map": False,
            "has_audio": False,
        },
    }


def _write_video(
    tmp: Path, camera: Camera, index: int, length: int, fps: int
) -> tuple[Path, dict[str, list[Any]]]:
    """Episode `index`'s video of `camera` in the dataset being written in `tmp`, and the
    camera's statistics over it."""
    frames = camera.frames(index)
    if (
        frames.dtype != np.uint8
        or frames.ndim != 4
        or (len(frames), frames.shape[3]) != (length, 3)
    ):
        raise DataError(
            f"episode {index}: camera {camera.name!r} gave frames {frames.dtype} "
            f"{frames.shape}, expected uint8 ({length}, H, W, 3)"
        )
    name = VIDEO_PATH.format(
        episode_chunk=index // CHUNKS_SIZE, video_key=camera.key, episode_index=index
    )
    return write_video(tmp / name, list(frames), fps=fps), _image_stats(frames)


def _parquet(columns: dict[str, np.ndarray]) -> bytes:
    """One episode's columns as parquet bytes (vectors as list<float32> columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        if values.ndim == 2:
            flat = pa.array(values.reshape(-1), pa.float32())
            offsets = pa.array(np.arange(0, values.size + 1, values.shape[1]), pa.int32())
            arrays[name] = pa.ListArray.from_arrays(offsets, flat)
        else:
            arrays[name] = pa.array(values)
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays), buffer)
    return buffer.getvalue()


def _stats(columns: dict[str, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """LeRobot's per-episode statistics of every column (per entry for vectors)."""
    out = {}
    for name, values in columns.items():
        v = values.astype(np.float64).reshape(len(values), -1)
        out[name] = {
            "min": v.min(0).tolist(),
            "max": v.max(0).tolist(),
            "mean": v.mean(0).tolist(),
            "std": v.std(0).tolist(),
            "count": [len(v)],
        }
    return out


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def export_lerobot(
    episodes: Sequence[Episode],
    out: str | Path,
    *,
    fps: int = CONTROL_HZ,
    camera: Camera | None = None,
) -> ExportReport:
    """Write `episodes` (in order: episode i is ``episodes[i]``) as a LeRobot v2.1 dataset in
    `out`, all at once (a crash leaves the previous `out` untouched). `out` must be new, empty
    or an earlier LeRobot dataset, which is replaced. fps: MetaWorld's control rate. camera:
    also write its frames of every episode as MP4 videos (one per episode)."""
    out = Path(out)
    if not episodes:
        raise DataError("no episodes to export")
    if out.exists() and any(out.iterdir()) and not is_lerobot(out):
        raise DataError(f"--out {out}: exists and is not a LeRobot dataset; give a new directory")
    dims = {(e.observations.shape[1], e.actions.shape[1]) for e in episodes}
    if len(dims) != 1:
        raise DataError(f"episodes of different widths (obs, action): {sorted(dims)}")
    ((obs_dim, action_dim),) = dims
    names = sorted({e.task for e in episodes})
    task_index = {name: i for i, name in enumerate(names)}
    tasks = [
        {"task_index": i, "task": INSTRUCTIONS.get(n, n), "metaworld_task": n}
        for i, n in enumerate(names)
    ]
    features = _features(obs_dim, action_dim)
    videos = len(episodes) if camera is not None else 0
    rows, stats, first = [], [], 0
    expect("episodes", len(episodes))  # the CLI's progress bar, if one is shown
    with staged_directory(out) as tmp:
        for i, ep in enumerate(episodes):
            columns = _frames(ep, i, first, task_index[ep.task], fps)
            path = tmp / DATA_PATH.format(episode_chunk=i // CHUNKS_SIZE, episode_index=i)
            data = _parquet(columns)
            atomic_write(path, lambda f, data=data: f.write(data))
            episode_stats = _stats(columns)
            if camera is not None:
                video, episode_stats[camera.key] = _write_video(tmp, camera, i, len(ep), fps)
                feature = _video_feature(video, fps)
                known = features.setdefault(camera.key, feature)
                if known != feature:
                    raise DataError(
                        f"episode {i}: video {feature['shape']} {feature['info']['video.codec']}"
                        f", unlike episode 0's {known['shape']} {known['info']['video.codec']}"
                    )
            rows.append(
                {
                    "episode_index": i,
                    "tasks": [INSTRUCTIONS.get(ep.task, ep.task)],
                    "length": len(ep),
                    "seed": ep.seed,
                    "success": ep.success,
                    "action_noise": ep.action_noise,
                }
            )
            stats.append({"episode_index": i, "stats": episode_stats})
            first += len(ep)
            advance("episodes")
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": "sawyer",
            "total_episodes": len(episodes),
            "total_frames": first,
            "total_tasks": len(names),
            "total_videos": videos,
            "total_chunks": (len(episodes) - 1) // CHUNKS_SIZE + 1,
            "chunks_size": CHUNKS_SIZE,
            "fps": fps,
            "splits": {"train": f"0:{len(episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if camera is not None else None,
            "features": features,
        }
        atomic_write_text(tmp / INFO, json.dumps(info, indent=4) + "\n")
        atomic_write_text(tmp / "meta/episodes.jsonl", _lines(rows))
        atomic_write_text(tmp / "meta/episodes_stats.jsonl", _lines(stats))
        atomic_write_text(tmp / "meta/tasks.jsonl", _lines(tasks))
    return ExportReport(out, len(episodes), first, len(names), videos)


def _read_json(path: Path, lines: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return (
            [json.loads(s) for s in text.splitlines() if s.strip()] if lines else json.loads(text)
        )
    except FileNotFoundError:
        raise DataError(f"{path}: missing (a LeRobot dataset needs it)") from None
    except (OSError, ValueError, RecursionError) as e:
        raise DataError(f"{path}: unreadable ({type(e).__name__}: {e})") from None


def _object(value: Any, where: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else a DataError naming `where`."""
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _integer(value: Any, where: str, minimum: int) -> int:
    """`value` if it is a JSON integer ≥ `minimum` (a bool is not one), else a DataError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DataError(f"{where} is {value!r}, expected an integer ≥ {minimum}")
    return value


def _task_name(row: dict[str, Any]) -> str:
    """Our task name of a tasks.jsonl row (see the module docstring)."""
    by_instruction = {text: name for name, text in INSTRUCTIONS.items()}
    text = str(row.get("task", ""))
    return str(row.get("metaworld_task") or by_instruction.get(text, text))


def _tasks(root: Path) -> dict[int, str]:
    """task_index → our task name, from meta/tasks.jsonl."""
    path = root / "meta/tasks.jsonl"
    tasks = {}
    for line, value in enumerate(_read_json(path, True), start=1):
        row = _object(value, f"{path} line {line}")
        index = _integer(row.get("task_index"), f"{path} line {line}: task_index", 0)
        tasks[index] = _task_name(row)
    return tasks


def _episode_rows(root: Path) -> list[tuple[int, dict[str, Any]]]:
    """(episode_index, row) of meta/episodes.jsonl in episode order; each index once."""
    path = root / "meta/episodes.jsonl"
    rows: dict[int, dict[str, Any]] = {}
    for line, value in enumerate(_read_json(path, True), start=1):
        row = _object(value, f"{path} line {line}")
        index = _integer(row.get("episode_index"), f"{path} line {line}: episode_index", 0)
        if index in rows:
            raise DataError(f"{path} line {line}: episode_index {index} is listed twice")
        rows[index] = row
    if not rows:
        raise DataError(f"{path}: lists no episode")
    return sorted(rows.items())


def _episode_paths(root: Path, info: dict[str, Any]) -> Callable[[int], Path]:
    """index → the parquet file of episode `index`: info.json's data_path (fields
    ``{episode_chunk}`` and ``{episode_index}``, optionally zero-padded as ``:06d``) filled in,
    inside `root`."""
    template = info.get("data_path", DATA_PATH)
    chunk = _integer(info.get("chunks_size", CHUNKS_SIZE), f"{root / INFO}: chunks_size", 1)
    try:
        if not isinstance(template, str):
            raise ValueError(f"a {type(template).__name__}")
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is not None and (
                name not in ("episode_chunk", "episode_index")
                or conversion
                or not _INDEX_SPEC.fullmatch(spec)
            ):
                raise ValueError(f"field {{{name}{'!' + conversion if conversion else ''}:{spec}}}")
    except ValueError as e:
        raise DataError(
            f"{root / INFO}: data_path {template!r} is not a path template with the fields "
            f"{{episode_chunk}} and {{episode_index}}, e.g. {DATA_PATH!r} ({e})"
        ) from None

    def locate(index: int) -> Path:
        path = root / template.format(episode_chunk=index // chunk, episode_index=index)
        if not path.resolve().is_relative_to(root.resolve()):
            raise DataError(f"{root / INFO}: data_path {template!r} leads outside the dataset")
        return path

    return locate


def _vectors(columns: dict[str, Any], column: str, where: Path) -> np.ndarray:
    """A list column of an episode's table as (T, D) float32."""
    if column not in columns:
        raise DataError(f"{where}: no column {column!r} (has {', '.join(columns)})")
    try:
        with np.errstate(over="ignore"):  # beyond float32: inf, refused by the caller
            values = np.asarray(columns[column].to_pylist(), np.float32)
    except (ValueError, TypeError):
        raise DataError(
            f"{where}: column {column!r} must hold vectors of numbers, all of one width"
        ) from None
    return values.reshape(len(values), -1) if values.size else np.zeros((0, 0), np.float32)


def _column(columns: dict[str, Any], column: str, default: Any, where: Path) -> list[Any]:
    """A scalar column's values, or [default] where the table has no such column."""
    if column not in columns:
        return [default]
    try:
        return columns[column].to_pylist()
    except ValueError as e:  # e.g. strings that are not UTF-8
        raise DataError(f"{where}: column {column!r} is unreadable ({e})") from None


def _episode(path: Path, row: dict[str, Any], tasks: dict[int, str], where: str) -> Episode:
    """The episode stored in parquet file `path`, with the metadata of its episodes.jsonl
    `row` (named `where` in errors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        columns = dict(zip(table.column_names, table.columns, strict=True))
    except FileNotFoundError:
        raise DataError(f"{path}: missing (listed in meta/episodes.jsonl)") from None
    except (OSError, ValueError, pa.ArrowException) as e:  # ValueError: names not UTF-8
        raise DataError(f"{path}: unreadable parquet ({type(e).__name__}: {e})") from None
    obs = _vectors(columns, "observation.state", path)
    actions = _vectors(columns, "action", path)
    if len(obs) == 0 or len(obs) != len(actions):
        raise DataError(f"{path}: {len(obs)} states and {len(actions)} actions (need T ≥ 1)")
    if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
        raise DataError(f"{path}: observation.state/action contain NaN or inf")
    task = _column(columns, "task_index", 0, path)[0]
    if isinstance(task, bool) or not isinstance(task, int) or task not in tasks:
        raise DataError(f"{path}: task_index {task!r} is not in meta/tasks.jsonl")
    success = row.get("success", _column(columns, "next.success", True, path)[-1])
    if not isinstance(success, bool):
        raise DataError(
            f"{where}: success is {success!r}, expected true or false (meta/episodes.jsonl "
            "success, else the last next.success)"
        )
    noise = row.get("action_noise", 0.0)
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < np.inf:
        raise DataError(
            f"{where}: action_noise is {noise!r} in meta/episodes.jsonl, expected a number ≥ 0"
        )
    return Episode(
        task=tasks[task],
        observations=obs,
        actions=actions,
        success=success,
        seed=_integer(row.get("seed", -1), f"{where}: meta/episodes.jsonl seed", -1),
        action_noise=float(noise),
    )


def load_lerobot(directory: str | Path) -> list[Episode]:
    """The episodes of a LeRobot v2.x dataset, in episode order; a DataError names the file
    (and line or field) and what is wrong with it."""
    root = Path(directory)
    info = _object(_read_json(root / INFO), str(root / INFO))
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v2"):
        raise DataError(
            f"{root / INFO}: codebase_version {version or '?'}; this reads LeRobot v2.x layouts "
            "(one parquet file per episode)"
        )
    tasks = _tasks(root)
    locate = _episode_paths(root, info)
    return [
        _episode(locate(index), row, tasks, f"{root} episode {index}")
        for index, row in _episode_rows(root)
    ]
