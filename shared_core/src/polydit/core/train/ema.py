"""Exponential moving average of a model's weights (the weights domains ship)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_decay_at(step: int, decay: float, warmup: bool) -> float:
    """Decay applied by the EMA update after optimizer step `step` (1-based).

    Without warm-up it is `decay`; with warm-up `min(decay, (1 + step) / (10 + step))`
    (0.18 after step 1, 0.92 after 100, 0.991 after 1000), so early weights fade quickly.
    """
    return min(decay, (1 + step) / (10 + step)) if warmup else decay


class EMA:
    """A frozen copy `module` of a model, updated as `ema <- d * ema + (1 - d) * param`.

    Floating-point parameters are averaged; buffers (and non-float parameters) are copied.
    """

    def __init__(self, model: nn.Module) -> None:
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        """Move every averaged tensor a fraction `1 - decay` of the way towards `model`'s."""
        averaged, targets = [], []
        for e, p in zip(self.module.parameters(), model.parameters(), strict=True):
            if e.is_floating_point():
                averaged.append(e)
                targets.append(p.detach())
            else:
                e.copy_(p)
        if averaged:
            torch._foreach_lerp_(averaged, targets, 1.0 - decay)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)
