"""What every cache method shares: per-branch state, block-usage counts, the abstract method.

A method keeps its state per CFG branch (see :class:`~polydit.core.accel.CachedDenoiser`) and
counts evaluations itself, so Heun's two evaluations per step are two evaluations here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from polydit.core.accel import features as F
from polydit.core.errors import ConfigError
from polydit.core.nn.blocks import BlockInputs
from polydit.core.sampling.context import StepContext


@dataclass
class BranchState:
    """Per-branch memory of a cache method: evaluation count and whatever the method stores."""

    calls: int = 0
    store: dict[str, Any] = field(default_factory=dict)


@dataclass
class Usage:
    """Block evaluations actually computed vs what the uncached model would compute."""

    computed: int = 0
    total: int = 0

    @property
    def fraction(self) -> float:
        return self.computed / self.total if self.total else 1.0

    def add(self, other: Usage) -> None:
        """Accumulate another run's counts into this one."""
        self.computed += other.computed
        self.total += other.total


class CacheMethod(ABC):
    """Runs the list of blocks for one evaluation; may reuse or forecast block outputs."""

    @abstractmethod
    def run(
        self,
        blocks: nn.ModuleList,
        h: Tensor,
        inputs: BlockInputs,
        ctx: StepContext,
        state: BranchState,
        usage: Usage,
    ) -> Tensor:
        """h (B, L, D) in → (B, L, D) out, as ``for b in blocks: h = b(h, inputs)`` would."""


def _compute_all(
    blocks: nn.ModuleList, h: Tensor, inputs: BlockInputs, usage: Usage
) -> tuple[Tensor, list[F.Features]]:
    """Every block computed on h (B, L, D); also each block's cacheable features."""
    feats = []
    for block in blocks:
        h, f = F.compute(block, h, inputs)
        feats.append(f)
    usage.computed += len(blocks)
    usage.total += len(blocks)
    return h, feats


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"--cache-opts {name}={value}: expected a positive value")
