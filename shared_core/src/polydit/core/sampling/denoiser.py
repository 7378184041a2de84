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
    rows: evaluate the network on micro-batches of exactly this many samples (the last one
    padded by repeating its final sample), so every sample meets the same matrix shapes however
    many are drawn: BLAS kernels pick their blocking and thread split by shape, and a sample
    computed in a batch of 8 may otherwise differ in the last bit from the same sample in a
    batch of 16. ``None`` evaluates the whole batch at once.
    """

    def __init__(
        self,
        model: nn.Module,
        pos: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        rows: int | None = None,
        **kwargs: Any,
    ):
        if rows is not None and rows < 1:
            raise ValueError(f"rows must be >= 1 or None, got {rows}")
        self.model, self.pos, self.mask, self.rows, self.kwargs = model, pos, mask, rows, kwargs

    def __call__(self, x: Tensor, t: Tensor, cond: Cond | None, ctx: StepContext) -> Tensor:
        batch = x.shape[0]
        pos, mask = (_tile(v, batch) for v in (self.pos, self.mask))
        if self.rows is None or self.rows == batch:
            return self.model(Tokens(x, pos, mask), t, cond, **self.kwargs)
        per_sample_t = t.dim() > 0 and t.shape[0] == batch
        outs = []
        for start in range(0, batch, self.rows):
            idx = torch.arange(start, start + self.rows, device=x.device).clamp(max=batch - 1)
            tokens = Tokens(x[idx], _index(pos, idx), _index(mask, idx))
            part = self.model(
                tokens,
                t[idx] if per_sample_t else t,
                None if cond is None else cond.index(idx),
                **self.kwargs,
            )
            outs.append(part[: min(self.rows, batch - start)])
        return torch.cat(outs)


def _index(v: Tensor | None, idx: Tensor) -> Tensor | None:
    return None if v is None else v[idx]


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
