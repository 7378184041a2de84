"""A DiT denoiser that runs its blocks through a cache method, with per-branch state."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from polydit.core.accel.base import BranchState, CacheMethod, Usage
from polydit.core.dit import DiT
from polydit.core.sampling.context import StepContext
from polydit.core.sampling.denoiser import ModelDenoiser
from polydit.core.tokens import Cond, Tokens


class CachedDenoiser(ModelDenoiser):
    """A :class:`~polydit.core.sampling.ModelDenoiser` whose blocks run through `method`.

    State is kept per ``ctx.branch`` ("cond"/"uncond"), so under classifier-free guidance each
    branch caches only its own features. ``usage`` counts computed vs total block evaluations.
    `args`/`kwargs`: ModelDenoiser's (pos, mask, extra forward arguments).
    """

    def __init__(self, model: DiT, method: CacheMethod, *args: Any, **kwargs: Any):
        super().__init__(model, *args, **kwargs)
        self.method = method
        self.states: dict[str, BranchState] = {}
        self.usage = Usage()

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        h, inputs = self.model.prepare(Tokens(x, self.pos, self.mask), t, cond, **self.kwargs)
        state = self.states.setdefault(ctx.branch, BranchState())
        h = self.method.run(self.model.blocks, h, inputs, ctx, state, self.usage)
        state.calls += 1
        return self.model.head(h[:, inputs.num_context :], inputs)
