"""A DiT denoiser that runs its blocks through a cache method, with per-branch state."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from polydit.core.accel.base import BranchState, CacheMethod, Usage
from polydit.core.dit import DiT
from polydit.core.sampling.context import StepContext
from polydit.core.tokens import Cond, Tokens


class CachedDenoiser:
    """Like :class:`~polydit.core.sampling.ModelDenoiser`, but the blocks run through `method`.

    State is kept per ``ctx.branch`` ("cond"/"uncond"), so under classifier-free guidance each
    branch caches only its own features. ``usage`` counts computed vs total block evaluations.
    """

    def __init__(
        self,
        model: DiT,
        method: CacheMethod,
        pos: Tensor | None = None,
        mask: Tensor | None = None,
        **kwargs: Any,
    ):
        self.model, self.method, self.pos, self.mask, self.kwargs = model, method, pos, mask, kwargs
        self.states: dict[str, BranchState] = {}
        self.usage = Usage()

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        h, inputs = self.model.prepare(Tokens(x, self.pos, self.mask), t, cond, **self.kwargs)
        state = self.states.setdefault(ctx.branch, BranchState())
        h = self.method.run(self.model.blocks, h, inputs, ctx, state, self.usage)
        state.calls += 1
        return self.model.head(h[:, inputs.num_context :], inputs)
