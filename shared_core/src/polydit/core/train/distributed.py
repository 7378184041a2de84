"""Process-group plumbing: the same training code runs alone or under `torchrun`.

How the model is laid out over the ranks is a `Sharding` (`sharding(TrainConfig.parallel, env)`):
`Replicated` (one process, or DDP: every rank holds the whole model; the default) or
`FullyShard` (FSDP2 `fully_shard` under torchrun: parameters, gradients and optimizer state are
split over the ranks). Both read and write the same full, one-process state dicts, so a
checkpoint does not depend on how the run that wrote it was laid out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils import get_total_norm

if TYPE_CHECKING:
    from torch.distributed.fsdp import FSDPModule


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


StateDict = dict[str, Any]


class Sharding(Protocol):
    """How a model is laid out over the ranks; the Trainer calls these in this order.

    `shard` once before any state is loaded (True if it replaced the model's parameters, so
    the optimizer must be built anew), `wrap` for the module the loss runs through,
    `accumulating` around each micro-batch's backward, `total_norm` of the gradients,
    `gathered` for a view with full parameters (the EMA update), `state_dicts`/
    `load_state_dicts` for checkpoints. Every rank calls every method (some are collectives).
    """

    def shard(self, model: nn.Module) -> bool: ...

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module: ...

    def accumulating(
        self, net: nn.Module, last: bool
    ) -> contextlib.AbstractContextManager[object]: ...

    def total_norm(self, grads: list[Tensor]) -> Tensor: ...

    def gathered(self, model: nn.Module) -> contextlib.AbstractContextManager[nn.Module]: ...

    def state_dicts(
        self, model: nn.Module, optimizer: torch.optim.Optimizer
    ) -> tuple[StateDict, StateDict]: ...

    def load_state_dicts(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        model_state: StateDict,
        optimizer_state: StateDict,
    ) -> None: ...


class Replicated:
    """Every rank holds the whole model: one process, or DDP under torchrun (the default)."""

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size

    def shard(self, model: nn.Module) -> bool:
        return False

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        return wrap_ddp(model, device) if self.world_size > 1 else model

    def accumulating(self, net: nn.Module, last: bool) -> contextlib.AbstractContextManager:
        """DDP skips the gradient all-reduce of all but the last micro-batch of a step."""
        return contextlib.nullcontext() if last or not isinstance(net, DDP) else net.no_sync()

    def total_norm(self, grads: list[Tensor]) -> Tensor:
        return get_total_norm(grads)

    def gathered(self, model: nn.Module) -> contextlib.AbstractContextManager[nn.Module]:
        return contextlib.nullcontext(model)

    def state_dicts(
        self, model: nn.Module, optimizer: torch.optim.Optimizer
    ) -> tuple[StateDict, StateDict]:
        return model.state_dict(), optimizer.state_dict()

    def load_state_dicts(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        model_state: StateDict,
        optimizer_state: StateDict,
    ) -> None:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)


class FullyShard:
    """FSDP2 under torchrun: each of `model.blocks` (if any) and then the root is a
    `fully_shard` unit, so parameters, gradients and optimizer state are split over the ranks
    and a block's full weights exist only during its forward and backward.

    Rank 0's initial weights are broadcast first (as DDP does). FSDP2 reduce-scatters only the
    gradients a backward produced, so a parameter unused by one rank's forward (a null-class
    embedding, an MoE expert no token chose) would mismatch the collective: each unit's output
    gets `0 * (sum of its own parameters)` added, which changes no value and gives every
    parameter a gradient (DDP's `find_unused_parameters`). A parameter that no rank used in a
    whole step thus gets a zero gradient, which AdamW still applies (momentum, weight decay),
    where one process leaves a parameter without gradient untouched; a DiT without MoE uses
    every parameter in every step, so it trains as in one process. Gradient accumulation skips
    the reduce-scatter of all but the last micro-batch. Checkpoints hold full (unsharded) state
    dicts in the one-process format: the optimizer's state is keyed by parameter index.
    (torch.distributed.fsdp takes seconds to import, so it is imported here only when used.)
    """

    def __init__(self) -> None:
        self._units: list[FSDPModule] = []  # the blocks, then the root

    def shard(self, model: nn.Module) -> bool:
        from torch.distributed.fsdp import fully_shard

        if self._units:  # a second fit of the same Trainer
            return False
        with torch.no_grad():
            for tensor in (*model.parameters(), *model.buffers()):
                dist.broadcast(tensor.detach(), src=0)
        blocks = list(getattr(model, "blocks", ()))
        for unit in (*blocks, model):
            slots = _own_parameters(unit, blocks if unit is model else [])
            self._units.append(fully_shard(unit))
            unit.register_forward_hook(_depend_on(slots), prepend=True)  # before FSDP reshards
        return True

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        return model  # the sharded module gathers each unit's weights in its own forward

    @contextlib.contextmanager
    def accumulating(self, net: nn.Module, last: bool) -> Iterator[None]:
        """Reduce-scatter the gradients only in the backward of a step's last micro-batch."""
        self._units[-1].set_requires_gradient_sync(last)  # the root's call sets every unit
        yield

    def total_norm(self, grads: list[Tensor]) -> Tensor:
        """The global norm: the norm of this rank's shards is a partial result (a DTensor)."""
        return get_total_norm(grads).full_tensor()

    @contextlib.contextmanager
    def gathered(self, model: nn.Module) -> Iterator[nn.Module]:
        """`model` with every unit's full parameters in place (an all-gather), resharded after."""
        for unit in self._units:
            unit.unshard()
        try:
            yield model
        finally:
            for unit in self._units:
                unit.reshard()

    def state_dicts(
        self, model: nn.Module, optimizer: torch.optim.Optimizer
    ) -> tuple[StateDict, StateDict]:
        """Full state dicts on rank 0 (empty on the others), in the one-process format."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

        on_rank_0 = StateDictOptions(full_state_dict=True, cpu_offload=True)
        model_state, by_name = get_state_dict(model, optimizer, options=on_rank_0)
        if not by_name:
            return model_state, by_name
        index = {name: i for i, name in enumerate(_parameter_names(model, optimizer))}
        return model_state, _rekey(by_name, index)

    def load_state_dicts(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        model_state: StateDict,
        optimizer_state: StateDict,
    ) -> None:
        """Shard full one-process state dicts (every rank passes the same) into `model`."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

        name = dict(enumerate(_parameter_names(model, optimizer)))
        set_state_dict(
            model,
            optimizer,
            model_state_dict=model_state,
            optim_state_dict=_rekey(optimizer_state, name),
            options=StateDictOptions(full_state_dict=True),
        )


def sharding(parallel: str, env: DistEnv) -> Sharding:
    """The layout `parallel` ("ddp" | "fsdp") names; FSDP needs more than one process, so a
    one-process run of an "fsdp" config is a plain one-process run (same checkpoints)."""
    if parallel == "fsdp" and env.world_size > 1:
        return FullyShard()
    return Replicated(env.world_size)


def _own_parameters(unit: nn.Module, nested: list[nn.Module]) -> list[tuple[nn.Module, str]]:
    """(module, name) of each trainable parameter of `unit` outside the `nested` units."""
    inner = {id(m) for n in nested for m in n.modules()}
    return [
        (m, name)
        for m in unit.modules()
        if id(m) not in inner
        for name, p in m.named_parameters(recurse=False)
        if p.requires_grad
    ]


def _depend_on(slots: list[tuple[nn.Module, str]]) -> Callable[..., Any]:
    """A forward hook adding `0 * sum` of the (unsharded, at that point) parameters in `slots`
    to a floating-point tensor output; other outputs pass unchanged."""

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        if not slots or not (isinstance(output, Tensor) and output.is_floating_point()):
            return output
        total = torch.stack([getattr(m, name).sum().float() for m, name in slots]).sum()
        return output + (0 * total).to(output.dtype)

    return hook


def _parameter_names(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """Names of the optimizer's parameters in its order: the indices of its state dict."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [names[id(p)] for group in optimizer.param_groups for p in group["params"]]


def _rekey(optimizer_state: StateDict, keys: dict[Any, Any]) -> StateDict:
    """`optimizer_state` with every parameter key k replaced by keys[k] (index <-> name)."""
    return {
        "state": {keys[k]: v for k, v in optimizer_state["state"].items()},
        "param_groups": [
            {**group, "params": [keys[k] for k in group["params"]]}
            for group in optimizer_state["param_groups"]
        ],
    }
