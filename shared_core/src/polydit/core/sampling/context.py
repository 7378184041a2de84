"""What a sampler hands the denoiser at every network evaluation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from torch import Tensor

from polydit.core.tokens import Cond


@dataclass(frozen=True)
class StepContext:
    """index: step number 0..num_steps-1; t / t_next: the step goes from t to t_next (< t);
    stage: network evaluation within the step (Heun's corrector is stage 1); branch: "cond" or
    "uncond" (set by classifier-free guidance) — caches keep separate state per branch."""

    index: int
    num_steps: int
    t: float
    t_next: float
    stage: int = 0
    branch: str = "cond"

    def with_branch(self, branch: str) -> StepContext:
        return replace(self, branch=branch)


class Denoiser(Protocol):
    """``denoiser(x (B, N, C), t (B,), cond, ctx) -> network output in the process's
    parameterisation`` (velocity, eps, v or x0)."""

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor: ...
