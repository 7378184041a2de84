"""Deterministic batching: which samples and which random numbers each micro-batch gets.

The dataset is read as an endless stream of positions `0, 1, 2, ...`; position `p` is sample
`perm_e[p % n]` of epoch `e = p // n`, where `perm_e` is a permutation of `range(n)` seeded by
`(seed, e)`. Optimizer step `s` (1-based) takes positions `[(s - 1) * B, s * B)` (B = the global
batch). With `M = world_size * grad_accum` micro-batches per step, global micro-batch `j` takes the
`j`-th of `M` equal consecutive slices of those positions and a `torch.Generator` seeded by
`(seed, s, j)`. Rank `r` runs micro-batches `j = r * grad_accum + a`, `a < grad_accum`. So batches
and randomness depend on `(seed, s, j)` only, never on what ran before: resuming at any step is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

Batch = Tensor | tuple[Any, ...] | dict[str, Any]
Collate = Callable[[Sequence[Any]], Batch]

_PERMUTATION, _MICRO_BATCH, _GLOBAL_RNG = 0, 1, 2  # stream tags: keep derived seeds independent


class Dataset(Protocol):
    """Map-style dataset; an optional `batch(indices (K,) int64) -> Batch` is used when present."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def derive_seed(*keys: int) -> int:
    """A 63-bit seed mixing non-negative integer `keys` (numpy SeedSequence hashing)."""
    state = np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0]
    return int(state) >> 1


def micro_batch_generator(seed: int, step: int, j: int, device: torch.device) -> torch.Generator:
    """The generator handed to the loss for global micro-batch `j` of step `step`, on `device`."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, _MICRO_BATCH, step, j))
    return g


def global_rng_seed(seed: int, step: int, j: int) -> int:
    """Seed of torch's global RNG during micro-batch `j` of `step` (dropout and other implicit draws)."""
    return derive_seed(seed, _GLOBAL_RNG, step, j)


class IndexStream:
    """Dataset indices at stream positions (see module docstring) for `n` samples and `seed`."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self._perms: dict[int, Tensor] = {}

    def _perm(self, epoch: int) -> Tensor:
        if epoch not in self._perms:
            if len(self._perms) >= 2:  # a batch spans at most a few epochs; keep the newest two
                del self._perms[min(self._perms)]
            g = torch.Generator().manual_seed(derive_seed(self.seed, _PERMUTATION, epoch))
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return self._perms[epoch]

    def indices(self, start: int, count: int) -> Tensor:
        """(count,) int64 dataset indices at positions `start .. start + count - 1`."""
        parts, pos, end = [], start, start + count
        while pos < end:
            epoch, offset = divmod(pos, self.n)
            take = min(self.n - offset, end - pos)
            parts.append(self._perm(epoch)[offset : offset + take])
            pos += take
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)

    def micro_batch(self, step: int, j: int, batch_size: int, num_micro: int) -> Tensor:
        """Indices of global micro-batch `j` of `num_micro` of step `step` (global `batch_size`)."""
        size = batch_size // num_micro
        return self.indices((step - 1) * batch_size + j * size, size)


def default_collate(items: Sequence[Any]) -> Batch:
    """Stack a list of samples: tensors/numbers → (K, ...) tensor; dicts and tuples recursively."""
    first = items[0]
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    if isinstance(first, tuple | list):
        return tuple(default_collate(list(col)) for col in zip(*items, strict=True))
    if isinstance(first, Tensor):
        return torch.stack(items)
    return torch.as_tensor(np.asarray(items))


def fetch(dataset: Dataset, indices: Tensor, collate: Collate | None) -> Batch:
    """The batch at `indices`: `dataset.batch(indices)` if defined, else `collate`d items."""
    if callable(getattr(dataset, "batch", None)):
        return dataset.batch(indices)  # type: ignore[attr-defined]
    return (collate or default_collate)([dataset[i] for i in indices.tolist()])


def to_device(batch: Any, device: torch.device) -> Any:
    """`batch` with every tensor moved to `device` (dicts, tuples, lists recursively; `.to` objects)."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(v, device) for v in batch)
    if callable(getattr(batch, "to", None)):  # containers such as Cond define .to(device)
        return batch.to(device)
    return batch
