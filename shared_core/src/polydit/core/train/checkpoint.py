"""Training checkpoints: `<out_dir>/checkpoints/step_XXXXXXXX.pt`, written atomically.

A checkpoint is a `torch.save`d dict: `format`, `step`, `loss` (that step's loss), `micro_batches`
(world_size * grad_accum of the run), `config` (TrainConfig as a dict), `model`, `ema` and
`optimizer` state dicts. The state dicts are full and in the one-process format (the optimizer's
state keyed by parameter index) under every layout: an FSDP run gathers them on rank 0
(`distributed.FullyShard`), so any run resumes any checkpoint of the same model. It is only
ever loaded with `torch.load(..., weights_only=True)`.
Shipped weights go through `polydit.core.hub` (safetensors), not through these files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from polydit.core.atomic import atomic_write
from polydit.core.errors import CheckpointError

FORMAT = "polydit.train/1"
KEYS = ("format", "step", "loss", "micro_batches", "config", "model", "ema", "optimizer")
_NAME = re.compile(r"step_(\d+)\.pt")


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.pt"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """`(step, path)` of every checkpoint in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.fullmatch(p.name))]
    return sorted(found)


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
