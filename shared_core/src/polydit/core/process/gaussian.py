"""Variance-preserving Gaussian diffusion (DDPM/DDIM) in continuous time."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.process.base import AffineProcess, ProcessConfig

BETA_MIN, BETA_MAX, TRAIN_STEPS = 1e-4, 0.02, 1000
COSINE_S = 0.008
MIN_ALPHA_BAR = 1e-6


class GaussianDiffusion(AffineProcess):
    """VP diffusion: ``x_t = sqrt(abar(t)) x0 + sqrt(1 - abar(t)) eps``.

    linear: the continuous limit of DDPM's 1000 linear betas,
        ``log abar(t) = -T (beta_min t + (beta_max - beta_min) t² / 2)`` (abar(1) ≈ 4e-5).
    cosine: ``abar(t) = cos²((t + s)/(1 + s) · π/2) / cos²(s/(1 + s) · π/2)``, clamped at 1e-6
        so that t = 1 stays invertible.
    The network predicts eps (DDPM), v or x0; t is continuous, so any step count can be sampled.
    """

    def __init__(self, config: ProcessConfig | None = None, **overrides):
        config = config or ProcessConfig(kind="gaussian", prediction="eps", **overrides)
        if config.kind != "gaussian":
            raise ConfigError(f"GaussianDiffusion got ProcessConfig.kind={config.kind!r}")
        super().__init__(config)

    def _log_alpha_and_derivative(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """log alpha(t) and its t-derivative (alpha = sqrt(abar))."""
        t = t.double()
        if self.config.schedule == "linear":
            log_abar = -TRAIN_STEPS * (BETA_MIN * t + (BETA_MAX - BETA_MIN) * t**2 / 2)
            d_log_abar = -TRAIN_STEPS * (BETA_MIN + (BETA_MAX - BETA_MIN) * t)
        else:
            u = (t + COSINE_S) / (1 + COSINE_S) * math.pi / 2
            log_abar = 2 * (
                torch.cos(u).log() - math.log(math.cos(COSINE_S / (1 + COSINE_S) * math.pi / 2))
            )
            d_log_abar = -2 * torch.tan(u) * math.pi / (2 * (1 + COSINE_S))
            clamped = log_abar < math.log(MIN_ALPHA_BAR)
            log_abar = log_abar.clamp_min(math.log(MIN_ALPHA_BAR))
            d_log_abar = torch.where(clamped, torch.zeros_like(d_log_abar), d_log_abar)
        return log_abar / 2, d_log_abar / 2

    def schedule(self, t: Tensor) -> tuple[Tensor, Tensor]:
        log_alpha, _ = self._log_alpha_and_derivative(t)
        alpha = log_alpha.exp()
        sigma = (-torch.expm1(2 * log_alpha)).clamp_min(0).sqrt()
        return alpha.to(t.dtype), sigma.to(t.dtype)

    def schedule_derivative(self, t: Tensor) -> tuple[Tensor, Tensor]:
        log_alpha, d_log_alpha = self._log_alpha_and_derivative(t)
        alpha = log_alpha.exp()
        d_alpha = alpha * d_log_alpha
        sigma = (-torch.expm1(2 * log_alpha)).clamp_min(1e-12).sqrt()
        d_sigma = -alpha * d_alpha / sigma
        return d_alpha.to(t.dtype), d_sigma.to(t.dtype)
