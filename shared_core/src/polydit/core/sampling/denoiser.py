"""Denoisers: a model bound to its token layout, self-conditioning, classifier-free guidance on
the labels/context and on the given tokens."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.process.base import AffineProcess, expand, hold_given
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


class SelfConditioning:
    """Hands every network evaluation the clean estimate of the previous one as
    ``cond.self_cond`` (none at the first), one history per guidance branch.

    Wraps the denoiser of a DiT with ``self_condition=True``; a new instance per sampling run.
    """

    def __init__(self, denoiser: Denoiser, process: AffineProcess):
        self.denoiser, self.process = denoiser, process
        self.estimates: dict[str, Tensor] = {}

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        cond = replace(cond or Cond(), self_cond=self.estimates.get(ctx.branch))
        out = self.denoiser(x, t, cond, ctx)
        estimate = self.process.to_x0_eps(x, t, out.to(x.dtype))[0]
        self.estimates[ctx.branch] = hold_given(estimate, x, cond)
        return out


class ClassifierFreeGuidance:
    """``uncond + scale · (cond − uncond)`` on every channel of the network output.

    scale = 1 is plain conditional sampling (one evaluation). By default the two branches are
    evaluated separately, each tagged in its StepContext, so caches keep per-branch state;
    ``batched=True`` evaluates both in one call of twice the batch (branch "both"), which is
    faster for a plain model but must not be used with a per-branch cache.

    rescale φ (Lin et al. 2023, used by EzAudio): the guided output g is rescaled per sample to
    the standard deviation of the conditional one, ``φ · g · std(cond) / std(g) + (1 − φ) · g``
    (std over every non-batch axis), which keeps large scales from over-saturating; 0 = off.
    """

    def __init__(
        self, denoiser: Denoiser, scale: float, batched: bool = False, rescale: float = 0.0
    ):
        if not 0.0 <= rescale <= 1.0:
            raise ValueError(f"rescale must be in [0, 1], got {rescale}")
        self.denoiser, self.scale, self.batched, self.rescale = denoiser, scale, batched, rescale

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
        guided = uncond + self.scale * (out - uncond)
        if self.rescale == 0.0:
            return guided
        axes = tuple(range(1, guided.dim()))
        ratio = out.std(dim=axes, keepdim=True) / guided.std(dim=axes, keepdim=True).clamp_min(
            1e-12
        )
        return self.rescale * guided * ratio + (1.0 - self.rescale) * guided


class GivenGuidance:
    """Classifier-free guidance on the given tokens: ``free + scale · (held − free)``.

    The held branch is the plain call: given tokens clean, at time 0. The free branch sees no
    given tokens: they are noised to the step's time along `noise` (B, N, C), the run's initial
    noise, so a sample stays a function of its seed — the unconditional task of mask-modelling
    training (VDT). Guidance pulls the generated tokens toward what the given ones imply, as
    Stable Video Diffusion guides on its conditioning frame. scale = 1 is the plain call alone;
    the free branch is tagged ``<branch>-free`` in its StepContext, so caches and
    self-conditioning keep per-branch state.
    """

    def __init__(self, denoiser: Denoiser, process: AffineProcess, scale: float, noise: Tensor):
        self.denoiser, self.process, self.scale, self.noise = denoiser, process, scale, noise

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        held = self.denoiser(x, t, cond, ctx)
        if self.scale == 1.0 or cond is None or cond.given is None:
            return held
        alpha, sigma = (expand(v, x) for v in self.process.schedule(t))
        noise = _tile(self.noise, x.shape[0]).to(x)
        noised = alpha * x + sigma * noise  # the given tokens of x hold their clean values
        free_x = torch.where(cond.given[..., None], noised, x)
        free_ctx = ctx.with_branch(f"{ctx.branch}-free")
        free = self.denoiser(free_x, t, replace(cond, given=None), free_ctx)
        return free + self.scale * (held - free)
