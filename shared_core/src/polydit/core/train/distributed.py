"""Process-group plumbing: the same training code runs alone or under `torchrun`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the job: `rank` of `world_size`, GPU index `local_rank`."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_env() -> DistEnv:
    """The running process group if any, else the `torchrun` environment (RANK, WORLD_SIZE, ...)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_available() and dist.is_initialized():
        return DistEnv(dist.get_rank(), dist.get_world_size(), local_rank)
    return DistEnv(
        int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")), local_rank
    )


def resolve_device(device: torch.device | str, env: DistEnv) -> torch.device:
    """`device`, with the GPU index set to `local_rank` for a multi-process CUDA run."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and env.world_size > 1:
        device = torch.device("cuda", env.local_rank)
    return device


def init_process_group(device: torch.device) -> bool:
    """Join the `torchrun` process group (nccl on CUDA, gloo otherwise) unless already in one.

    Returns True if this call created the group (and the caller must destroy it).
    """
    if dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


class DDP(DistributedDataParallel):
    """DistributedDataParallel whose missing attributes are read from the wrapped module.

    A loss function may read `model.num_classes` whether or not it runs distributed; the forward
    must still go through `model(...)` so the gradient all-reduce is hooked in.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)


def wrap_ddp(model: nn.Module, device: torch.device) -> DDP:
    """`model` in DDP; parameters unused by a forward (e.g. a null-class embedding) are allowed."""
    ids = [device.index] if device.type == "cuda" else None
    return DDP(model, device_ids=ids, find_unused_parameters=True)
