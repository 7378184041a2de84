"""Training checkpoints: `<out_dir>/checkpoints/step_XXXXXXXX.pt`, written atomically.

A checkpoint is a `torch.save`d dict: `format`, `step`, `loss` (that step's loss), `micro_batches`
(world_size * grad_accum of the run), `config` (TrainConfig as a dict), `model`, `ema` and
`optimizer` state dicts. It is only ever loaded with `torch.load(..., weights_only=True)`.
Shipped weights go through `polydit.core.hub` (safetensors), not through these files.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from polydit.core.errors import CheckpointError

FORMAT = "polydit.train/1"
KEYS = ("format", "step", "loss", "micro_batches", "config", "model", "ema", "optimizer")
_NAME = re.compile(r"step_(\d+)\.pt")
_TMP_PREFIX = ".tmp-"


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """`(step, path)` of every checkpoint in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.fullmatch(p.name))]
    return sorted(found)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(file)` into a temp file beside it, fsync, then `os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "xb") as f:  # unlike mkstemp, honours the umask (not always 0600)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically `torch.save` `state` (which must hold every key of `KEYS`) to `path`."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """The state saved at `path`; `CheckpointError` naming the file if it is unreadable."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: unreadable training checkpoint ({e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a polydit training checkpoint (expected format {FORMAT})"
        )
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return state


def prune_checkpoints(directory: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints of `directory`."""
    for _, path in list_checkpoints(directory)[:-keep]:
        path.unlink(missing_ok=True)


def remove_temp_files(directory: Path) -> None:
    """Delete temp files left in `directory` by a writer that crashed before `os.replace`."""
    if directory.is_dir():
        for p in directory.glob(f"{_TMP_PREFIX}*"):
            p.unlink(missing_ok=True)
