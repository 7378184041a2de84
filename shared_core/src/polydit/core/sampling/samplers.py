"""Samplers over an :class:`~polydit.core.process.AffineProcess` and a denoiser.

All integrate from t = 1 (noise) to t = 0 (data) on a grid ``1 = t_0 > t_1 > ... > t_S = 0``,
optionally warped by SD3's shift ``t' = s·t / (1 + (s − 1)·t)``. Each works on any affine
process and any parameterisation, through the (x0, eps) estimates the process derives from the
network output. Tokens marked ``cond.given`` are held at ``known`` after every step. Stochastic
samplers draw each sample's fresh noise from its own stream (:class:`StepNoise`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.process.base import AffineProcess, expand
from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.tokens import Cond


def time_grid(steps: int, shift: float = 1.0) -> Tensor:
    """(steps + 1,) float64 times from 1 down to 0."""
    if steps < 1:
        raise ConfigError(f"--steps must be ≥ 1, got {steps}")
    t = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return shift * t / (1 + (shift - 1) * t)


class StepNoise:
    """Fresh Gaussian noise for stochastic samplers, one stream per sample: sample i's noise for
    all `steps` steps is drawn at once from a generator seeded by ``OFFSET + seed + i``, so a
    sample depends on its own seed only (not on the batch it is drawn in), and its stream differs
    from the initial-noise seeds ``seed + i``."""

    OFFSET = 2**32

    def __init__(self, seed: int, batch: int, steps: int):
        self.seed, self.batch, self.steps = seed, batch, steps
        self.drawn: Tensor | None = None  # (B, steps, ...)
        self.used = 0

    def like(self, x: Tensor) -> Tensor:
        """The next step's standard normal noise, shaped like x (B, ...)."""
        if x.shape[0] != self.batch:
            raise ValueError(f"StepNoise for {self.batch} samples got a batch of {x.shape[0]}")
        if self.drawn is None:
            shape = (self.steps, *x.shape[1:])
            self.drawn = torch.stack(
                [
                    torch.randn(
                        shape, generator=torch.Generator().manual_seed(self.OFFSET + self.seed + i)
                    )
                    for i in range(self.batch)
                ]
            )
        if self.used == self.steps:
            raise RuntimeError(f"StepNoise: all {self.steps} steps' noise has been used")
        self.used += 1
        return self.drawn[:, self.used - 1].to(x)


@dataclass
class _Run:
    """One sampling run: evaluates the network and converts its output to (x0, eps)."""

    process: AffineProcess
    denoiser: Denoiser
    cond: Cond | None
    grid: tuple[float, ...]  # 1 = t_0 > ... > t_S = 0 as Python floats (constants when compiled)
    known: Tensor | None
    noise: StepNoise

    @property
    def steps(self) -> int:
        return len(self.grid) - 1

    def predict(self, x: Tensor, i: int, t: float, stage: int = 0) -> tuple[Tensor, Tensor]:
        tt = torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)
        ctx = StepContext(i, self.steps, t, self.grid[i + 1], stage)
        out = self.denoiser(x, tt, self.cond, ctx)
        return self.process.to_x0_eps(x, tt, out.to(x.dtype))

    def velocity(self, x0: Tensor, eps: Tensor, t: float) -> Tensor:
        """dx/dt of the deterministic (probability-flow) path through (x0, eps) at t."""
        tt = torch.full((x0.shape[0],), t, dtype=x0.dtype, device=x0.device)
        d_alpha, d_sigma = (expand(s, x0) for s in self.process.schedule_derivative(tt))
        return d_alpha * x0 + d_sigma * eps

    def coefficients(self, t: float) -> tuple[float, float]:
        alpha, sigma = self.process.schedule(torch.tensor([t], dtype=torch.float64))
        return float(alpha), float(sigma)

    def hold(self, x: Tensor) -> Tensor:
        """Reset the given tokens to their known values."""
        if self.known is None or self.cond is None or self.cond.given is None:
            return x
        return torch.where(self.cond.given[..., None], self.known.to(x.dtype), x)


def euler(run: _Run, x: Tensor) -> Tensor:
    """First-order ODE integration of the probability-flow ODE."""
    for i in range(run.steps):
        t, s = run.grid[i], run.grid[i + 1]
        x0, eps = run.predict(x, i, t)
        x = run.hold(x + (s - t) * run.velocity(x0, eps, t))
    return x


def heun(run: _Run, x: Tensor) -> Tensor:
    """Second-order Heun (trapezoidal predictor–corrector); the final step to t = 0 is Euler (EDM)."""
    for i in range(run.steps):
        t, s = run.grid[i], run.grid[i + 1]
        d = run.velocity(*run.predict(x, i, t), t)
        x_next = x + (s - t) * d
        if s > 0:
            d_next = run.velocity(*run.predict(run.hold(x_next), i, s, stage=1), s)
            x_next = x + (s - t) * (d + d_next) / 2
        x = run.hold(x_next)
    return x


def _ddim(run: _Run, x: Tensor, eta: float) -> Tensor:
    """DDIM on a general affine path; eta = 1 is DDPM's ancestral sampler (posterior variance)."""
    for i in range(run.steps):
        t, s = run.grid[i], run.grid[i + 1]
        x0, eps = run.predict(x, i, t)
        alpha_t, sigma_t = run.coefficients(t)
        alpha_s, sigma_s = run.coefficients(s)
        c2 = 0.0
        if eta > 0 and sigma_s > 0:
            c2 = eta**2 * sigma_s**2 * (1 - (alpha_t * sigma_s / (alpha_s * sigma_t)) ** 2)
        x = alpha_s * x0 + max(sigma_s**2 - c2, 0.0) ** 0.5 * eps
        if c2 > 0:
            x = x + c2**0.5 * run.noise.like(x)
        x = run.hold(x)
    return x


def ddim(run: _Run, x: Tensor) -> Tensor:
    """Deterministic DDIM (eta = 0)."""
    return _ddim(run, x, eta=0.0)


def ddpm(run: _Run, x: Tensor) -> Tensor:
    """DDPM ancestral sampling (DDIM with eta = 1)."""
    return _ddim(run, x, eta=1.0)


def dpmpp2m(run: _Run, x: Tensor) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): multistep second order in log-SNR with data
    prediction; first order on the first step, after a step from infinite noise, and on the last
    step (to t = 0)."""
    prev_x0, prev_h = None, None
    for i in range(run.steps):
        t, s = run.grid[i], run.grid[i + 1]
        x0, _ = run.predict(x, i, t)
        alpha_t, sigma_t = run.coefficients(t)
        alpha_s, sigma_s = run.coefficients(s)
        ratio = (
            0.0 if alpha_t == 0 or sigma_s == 0 else (alpha_t * sigma_s) / (alpha_s * sigma_t)
        )  # e^{-h}
        h = -torch.log(torch.tensor(ratio)).item() if ratio > 0 else float("inf")
        d = x0
        if prev_x0 is not None and prev_h is not None and ratio > 0 and prev_h < float("inf"):
            r = prev_h / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * prev_x0
        x = run.hold((sigma_s / sigma_t) * x + alpha_s * (1 - ratio) * d)
        prev_x0, prev_h = x0, h
    return x


SAMPLERS: dict[str, Callable[[_Run, Tensor], Tensor]] = {
    "euler": euler,
    "heun": heun,
    "ddim": ddim,
    "ddpm": ddpm,
    "dpmpp2m": dpmpp2m,
}
SAMPLER_NAMES = tuple(SAMPLERS)


@torch.no_grad()
def sample(
    denoiser: Denoiser,
    process: AffineProcess,
    noise: Tensor,
    *,
    steps: int,
    sampler: str = "euler",
    cond: Cond | None = None,
    known: Tensor | None = None,
    shift: float = 1.0,
    seed: int = 0,
    compiled: bool = False,
) -> Tensor:
    """Integrate from ``noise`` (B, N, C) at t = 1 to samples at t = 0.

    known: (B, N, C) values of the tokens marked ``cond.given`` (held fixed throughout).
    seed: stochastic samplers (ddpm) draw sample i's step noise from its own stream of
        ``seed + i`` (:class:`StepNoise`); deterministic samplers ignore it.
    compiled: run the whole integration loop through torch.compile (one graph of every step,
        the per-step Python overhead gone; compiled once per sampler, step count and shapes).
    """
    if sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLER_NAMES)}")
    grid = tuple(time_grid(steps, shift).tolist())
    run = _Run(process, denoiser, cond, grid, known, StepNoise(seed, len(noise), steps))
    integrate = compiled_sampler(sampler) if compiled else SAMPLERS[sampler]
    return integrate(run, run.hold(noise))


@functools.cache
def compiled_sampler(name: str) -> Callable[[_Run, Tensor], Tensor]:
    """The torch.compile'd integration loop of sampler `name` (one wrapper per sampler)."""
    return torch.compile(SAMPLERS[name])
