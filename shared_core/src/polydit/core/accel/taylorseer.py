"""TaylorSeer: forecast block features in t from the last fully computed evaluations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.core.accel import features as F
from polydit.core.accel.base import CacheMethod, _compute_all, _positive
from polydit.core.errors import ConfigError


@dataclass
class TaylorSeer(CacheMethod):
    """TaylorSeer (Liu et al. 2025): forecast each block's attention/MLP features from the last
    `order` + 1 fully computed evaluations. We extrapolate with Newton's divided differences in t,
    which is exact for features that are polynomials of degree ≤ `order` in t (the paper's
    backward-difference Taylor series equals it at order 1). Full computation every `interval`
    evaluations and for the first `warmup` (≥ order + 1 gives a full history)."""

    order: int = 1
    interval: int = 3
    warmup: int = 0

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if self.order < 0:
            raise ConfigError(f"--cache-opts order={self.order}: expected ≥ 0")

    def run(self, blocks, h, inputs, ctx, state, usage):
        history: list[tuple[float, list[F.Features]]] = state.store.setdefault("history", [])
        warmup = max(self.warmup, 1)
        if state.calls < warmup or state.calls % self.interval == 0 or not history:
            h, feats = _compute_all(blocks, h, inputs, usage)
            # Heun evaluates t_{i+1} twice; keep one entry per time (the later), else the
            # divided differences divide by zero
            history[:] = [entry for entry in history if entry[0] != ctx.t]
            history.append((ctx.t, feats))
            del history[: -(self.order + 1)]
            times = [t for t, _ in history]
            # the forecast polynomial changes only here: its coefficients once, not every call
            state.store["coeffs"] = [
                tuple(
                    newton_coefficients(times, [f[i][j] for _, f in history])
                    for j in range(len(feats[i]))
                )
                for i in range(len(blocks))
            ]
            return h
        usage.total += len(blocks)
        times = [t for t, _ in history]
        for block, coeffs in zip(blocks, state.store["coeffs"], strict=True):
            forecast = tuple(newton_evaluate(times, c, ctx.t) for c in coeffs)
            h = F.reuse(block, h, inputs, forecast)
        return h


def newton_coefficients(times: list[float], values: list[Tensor]) -> list[Tensor]:
    """Newton divided differences [f[t0], f[t0,t1], ...] of the points (times[i], values[i])."""
    coeffs = list(values)
    n = len(times)
    for level in range(1, n):
        for i in range(n - 1, level - 1, -1):
            coeffs[i] = (coeffs[i] - coeffs[i - 1]) / (times[i] - times[i - level])
    return coeffs


def newton_evaluate(times: list[float], coeffs: list[Tensor], t: float) -> Tensor:
    """The Newton-form polynomial with `coeffs` at `t` (Horner; one fused op per degree)."""
    out = coeffs[-1]
    for i in range(len(coeffs) - 2, -1, -1):
        out = torch.add(coeffs[i], out, alpha=t - times[i])
    return out


def newton_extrapolate(times: list[float], values: list[Tensor], t: float) -> Tensor:
    """Evaluate at `t` the polynomial through (times[i], values[i]) (Newton's divided differences)."""
    return newton_evaluate(times, newton_coefficients(times, values), t)
