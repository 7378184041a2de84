"""Denoisers: a model bound to its token layout, and classifier-free guidance."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.tokens import Cond, Tokens


class ModelDenoiser:
    """Calls ``model(Tokens(x, pos, mask), t, cond, **kwargs)``; pos/mask are fixed for a batch.

    A call with k times the batch (batched guidance: ``ctx.branch == "both"``) tiles pos/mask.
    """

    def __init__(
        self, model: nn.Module, pos: Tensor | None = None, mask: Tensor | None = None, **kwargs: Any
    ):
        self.model, self.pos, self.mask, self.kwargs = model, pos, mask, kwargs

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        pos, mask = (_tile(v, x.shape[0]) for v in (self.pos, self.mask))
        return self.model(Tokens(x, pos, mask), t, cond, **self.kwargs)


def _tile(v: Tensor | None, batch: int) -> Tensor | None:
    """v (B, ...) repeated to (batch, ...) when batch is a multiple of B."""
    if v is None or v.shape[0] == batch:
        return v
    if batch % v.shape[0]:
        raise ValueError(f"a batch of {batch} does not tile positions/mask of {v.shape[0]}")
    return v.repeat(batch // v.shape[0], *([1] * (v.dim() - 1)))


class ClassifierFreeGuidance:
    """``uncond + scale · (cond − uncond)`` on every channel of the network output.

    scale = 1 is plain conditional sampling (one evaluation). By default the two branches are
    evaluated separately, each tagged in its StepContext, so caches keep per-branch state;
    ``batched=True`` evaluates both in one call of twice the batch (branch "both"), which is
    faster for a plain model but must not be used with a per-branch cache.
    """

    def __init__(self, denoiser: Denoiser, scale: float, batched: bool = False):
        self.denoiser, self.scale, self.batched = denoiser, scale, batched

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        if self.scale == 1.0 or cond is None:
            return self.denoiser(x, t, cond, ctx.with_branch("cond"))
        if self.batched:
            both = cond.cat(cond.unconditional())
            out = self.denoiser(torch.cat([x, x]), torch.cat([t, t]), both, ctx.with_branch("both"))
            out, uncond = out.chunk(2)
        else:
            out = self.denoiser(x, t, cond, ctx.with_branch("cond"))
            uncond = self.denoiser(x, t, cond.unconditional(), ctx.with_branch("uncond"))
        return uncond + self.scale * (out - uncond)
