"""Denoisers: a model bound to its token layout, and classifier-free guidance."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.tokens import Cond, Tokens


class ModelDenoiser:
    """Calls ``model(Tokens(x, pos, mask), t, cond, **kwargs)``; pos/mask are fixed for a batch."""

    def __init__(
        self, model: nn.Module, pos: Tensor | None = None, mask: Tensor | None = None, **kwargs: Any
    ):
        self.model, self.pos, self.mask, self.kwargs = model, pos, mask, kwargs

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        return self.model(Tokens(x, self.pos, self.mask), t, cond, **self.kwargs)


class ClassifierFreeGuidance:
    """``uncond + scale · (cond − uncond)`` on every channel of the network output.

    scale = 1 is plain conditional sampling (one evaluation); the two branches are evaluated
    separately, each tagged in its StepContext, so caches keep per-branch state.
    """

    def __init__(self, denoiser: Denoiser, scale: float):
        self.denoiser, self.scale = denoiser, scale

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        out = self.denoiser(x, t, cond, ctx.with_branch("cond"))
        if self.scale == 1.0 or cond is None:
            return out
        uncond = self.denoiser(x, t, cond.unconditional(), ctx.with_branch("uncond"))
        return uncond + self.scale * (out - uncond)
