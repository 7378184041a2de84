"""The affine-path process shared by flow matching and Gaussian (VP) diffusion."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond, Tokens

PREDICTIONS = ("velocity", "eps", "v", "x0")


@dataclass(frozen=True)
class ProcessConfig(JsonConfig):
    """Serialisable description of a process.

    kind: "flow_matching" | "gaussian".
    prediction: what the network outputs — "velocity" (d x_t / dt), "eps" (the noise), "v"
        (alpha·eps − sigma·x0, VP only) or "x0" (the clean data).
    schedule: gaussian only — "linear" (DDPM betas 1e-4..0.02 over 1000 steps, in continuous
        time) or "cosine" (Nichol & Dhariwal, s = 0.008).
    t_sampling: training times — "uniform" or "logit_normal" (SD3; loc/scale below).
    """

    kind: str = "flow_matching"
    prediction: str = "velocity"
    schedule: str = "linear"
    t_sampling: str = "uniform"
    logit_loc: float = 0.0
    logit_scale: float = 1.0

    def __post_init__(self) -> None:
        checks = {
            "kind": ("flow_matching", "gaussian"),
            "prediction": PREDICTIONS,
            "schedule": ("linear", "cosine"),
            "t_sampling": ("uniform", "logit_normal"),
        }
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"ProcessConfig.{name}={getattr(self, name)!r}; expected one of {allowed}"
                )
        if self.prediction == "v" and self.kind != "gaussian":
            raise ConfigError("ProcessConfig.prediction='v' is defined for kind='gaussian' only")


def expand(t: Tensor, like: Tensor) -> Tensor:
    """Broadcast per-sample t (B,) against like (B, ...)."""
    return t.reshape(-1, *([1] * (like.dim() - 1)))


class AffineProcess(ABC):
    """``x_t = alpha(t) x0 + sigma(t) eps`` with alpha(0) = 1, sigma(0) = 0 and t = 1 ≈ pure noise."""

    def __init__(self, config: ProcessConfig):
        self.config = config

    @abstractmethod
    def schedule(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(alpha(t), sigma(t)) for t (B,)."""

    @abstractmethod
    def schedule_derivative(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(d alpha / dt, d sigma / dt) for t (B,)."""

    def sample_t(
        self, n: int, generator: torch.Generator | None = None, device: Any = "cpu"
    ) -> Tensor:
        """Training times (n,) in [0, 1]."""
        cfg = self.config
        if cfg.t_sampling == "logit_normal":
            z = torch.randn(n, generator=generator) * cfg.logit_scale + cfg.logit_loc
            t = torch.sigmoid(z)
        else:
            t = torch.rand(n, generator=generator)
        return t.to(device)

    def corrupt(self, x0: Tensor, t: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        """(x_t, regression target) for clean x0 (B, ...), t (B,), noise like x0."""
        alpha, sigma = (expand(s, x0) for s in self.schedule(t))
        xt = alpha * x0 + sigma * noise
        pred = self.config.prediction
        if pred == "eps":
            target = noise
        elif pred == "x0":
            target = x0
        elif pred == "v":
            target = alpha * noise - sigma * x0
        else:
            d_alpha, d_sigma = (expand(s, x0) for s in self.schedule_derivative(t))
            target = d_alpha * x0 + d_sigma * noise
        return xt, target

    def to_x0_eps(self, xt: Tensor, t: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
        """Convert a network output at (x_t, t) into the implied (x0, eps) estimates."""
        alpha, sigma = (expand(s, xt) for s in self.schedule(t))
        pred = self.config.prediction
        if pred == "eps":
            return (xt - sigma * out) / alpha, out
        if pred == "x0":
            return out, (xt - alpha * out) / sigma
        if pred == "v":  # VP: alpha² + sigma² = 1
            return alpha * xt - sigma * out, sigma * xt + alpha * out
        d_alpha, d_sigma = (expand(s, xt) for s in self.schedule_derivative(t))
        det = alpha * d_sigma - sigma * d_alpha
        return (d_sigma * xt - sigma * out) / det, (alpha * out - d_alpha * xt) / det

    def from_x0_eps(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """The network output this process's parameterisation assigns to (x0, eps) at t."""
        alpha, sigma = (expand(s, x0) for s in self.schedule(t))
        pred = self.config.prediction
        if pred == "eps":
            return eps
        if pred == "x0":
            return x0
        if pred == "v":
            return alpha * eps - sigma * x0
        d_alpha, d_sigma = (expand(s, x0) for s in self.schedule_derivative(t))
        return d_alpha * x0 + d_sigma * eps

    def training_loss(
        self,
        model: torch.nn.Module,
        tokens: Tokens,
        cond: Cond | None = None,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
        *,
        time_weight: Callable[[Tensor], Tensor] | None = None,
        channel_weight: Tensor | None = None,
        self_condition: float = 0.0,
        **model_kwargs: Any,
    ) -> Tensor:
        """Mean squared error of ``model(tokens_t, t, cond)`` against the target.

        Averaged over channels and over the tokens that are real (``tokens.mask``) and generated
        (not ``cond.given``); given tokens stay clean in the input. `noise` (like ``tokens.x``)
        replaces the standard Gaussian draw, e.g. noise projected to zero centre of mass.
        time_weight: t (B,) → per-sample loss weights (B,) (the mean still divides by the number
        of loss tokens). channel_weight: (B, C) or (C,) channel weights; a token's error is their
        weighted mean over channels instead of the plain mean. self_condition: probability that
        the batch is self-conditioned — a first, gradient-free pass gives the clean estimate the
        second pass sees as ``cond.self_cond`` (Chen et al. 2022; the DiT needs
        ``self_condition=True``).
        """
        x0 = tokens.x
        t = self.sample_t(x0.shape[0], generator, x0.device)
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
        elif noise.shape != x0.shape:
            raise ValueError(f"noise has shape {tuple(noise.shape)}, tokens {tuple(x0.shape)}")
        xt, target = self.corrupt(x0, t, noise)
        weight = token_weight(tokens, cond)
        if cond is not None and cond.given is not None:
            xt = torch.where(cond.given[..., None], x0, xt)
        if self_condition > 0 and float(torch.rand((), generator=generator)) < self_condition:
            with torch.no_grad():
                first = model(tokens.with_x(xt), t, cond, **model_kwargs)
            estimate = self.to_x0_eps(xt, t, first.to(xt.dtype))[0]
            cond = replace(cond or Cond(), self_cond=hold_given(estimate, x0, cond))
        out = model(tokens.with_x(xt), t, cond, **model_kwargs)
        sample_weight = None if time_weight is None else time_weight(t)
        return masked_mse(out, target, weight, sample_weight, channel_weight)


def hold_given(x: Tensor, known: Tensor, cond: Cond | None) -> Tensor:
    """x (B, N, C) with the tokens marked ``cond.given`` reset to `known`."""
    if cond is None or cond.given is None:
        return x
    return torch.where(cond.given[..., None], known.to(x.dtype), x)


def token_weight(tokens: Tokens, cond: Cond | None) -> Tensor | None:
    """(B, N) bool of tokens that carry loss: real and not given; None means all."""
    weight = tokens.mask
    if cond is not None and cond.given is not None:
        weight = ~cond.given if weight is None else weight & ~cond.given
    return weight


def masked_mse(
    out: Tensor,
    target: Tensor,
    weight: Tensor | None,
    sample_weight: Tensor | None = None,
    channel_weight: Tensor | None = None,
) -> Tensor:
    """Mean over channels of (out - target)² (weighted by channel_weight (B, C) or (C,) when
    given), averaged over the tokens where weight (B, N) is True (all when None), each sample's
    errors scaled by sample_weight (B,)."""
    sq = (out.float() - target.float()).pow(2)
    if channel_weight is None:
        err = sq.mean(-1)  # (B, N)
    else:
        cw = channel_weight.float()
        cw = cw[:, None, :] if cw.dim() == 2 else cw
        err = (sq * cw).sum(-1) / cw.sum(-1).clamp_min(1e-12)
    if sample_weight is not None:
        err = err * sample_weight.float().reshape(-1, 1)
    if weight is None:
        return err.mean()
    w = weight.float()
    return (err * w).sum() / w.sum().clamp_min(1.0)
