"""An exact denoiser for Gaussian-mixture data: the posterior mean E[x0 | x_t] in closed form."""

from __future__ import annotations

import torch
from torch import Tensor

from polydit.core.process import AffineProcess


class MixtureOracle:
    """Data ~ sum_k w_k N(mu_k, diag(var_k)) in D dims, as single tokens (B, 1, D)."""

    def __init__(self, process: AffineProcess, weights: Tensor, means: Tensor, variances: Tensor):
        self.process = process
        self.weights, self.means, self.variances = (
            weights.double(),
            means.double(),
            variances.double(),
        )

    def sample_data(self, n: int, generator: torch.Generator) -> Tensor:
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        return (self.means[k] + self.variances[k].sqrt() * z)[:, None]

    def mean(self) -> Tensor:
        return (self.weights[:, None] * self.means).sum(0)

    def covariance(self) -> Tensor:
        mu = self.mean()
        second = sum(
            w * (torch.diag(v) + torch.outer(m, m))
            for w, m, v in zip(self.weights, self.means, self.variances, strict=True)
        )
        return second - torch.outer(mu, mu)

    def __call__(self, x: Tensor, t: Tensor, cond, ctx) -> Tensor:
        xd = x.double()[:, 0]  # (B, D)
        alpha, sigma = (s.double()[:, None, None] for s in self.process.schedule(t))  # (B,1,1)
        var = alpha**2 * self.variances[None] + sigma**2  # (B, K, D)
        diff = xd[:, None] - alpha * self.means[None]  # (B, K, D)
        log_p = -0.5 * ((diff**2 / var) + var.log()).sum(-1) + self.weights.log()[None]
        resp = log_p.softmax(-1)  # (B, K)
        post = self.means[None] + alpha * self.variances[None] / var * diff  # (B, K, D)
        x0 = (resp[..., None] * post).sum(1)
        a, s = alpha[:, 0], sigma[:, 0]
        eps = (xd - a * x0) / s
        out = self.process.from_x0_eps(x0[:, None], eps[:, None], t.double())
        return out.to(x.dtype)
