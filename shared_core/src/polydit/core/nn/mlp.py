"""Feed-forward layers: the DiT MLP and a mixture-of-experts MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from polydit.core.config import JsonConfig


class MLP(nn.Module):
    """Linear → GELU (tanh approximation, as DiT) → Linear."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


@dataclass(frozen=True)
class MoEConfig(JsonConfig):
    """Mixture-of-experts MLP.

    num_experts: routed experts; top_k: experts per token; shared_expert: one always-on expert
    added to the routed ones (DeepSeek-MoE style); router: "token" routes each token by its
    features, "noise" routes a whole sample by its conditioning vector (time + labels) — MoDE's
    noise-conditioned routing, which lets inference fix the experts of each step once.
    balance_weight: weight of the load-balancing loss (Switch Transformer form).
    """

    num_experts: int = 4
    top_k: int = 2
    shared_expert: bool = True
    router: str = "token"
    balance_weight: float = 0.01

    def __post_init__(self) -> None:
        if self.router not in ("token", "noise"):
            raise ValueError(f"MoEConfig.router must be 'token' or 'noise', got {self.router!r}")
        if not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"MoEConfig.top_k must be in [1, num_experts], got {self.top_k}")


class MoEMLP(nn.Module):
    """Top-k routed experts (+ optional shared expert). After each forward, ``balance_loss``
    holds the weighted load-balancing loss ``E * sum_i f_i * P_i`` (f_i: fraction of routing
    slots given to expert i, P_i: mean router probability of expert i)."""

    def __init__(self, dim: int, hidden: int, config: MoEConfig):
        super().__init__()
        self.config = config
        self.experts = nn.ModuleList(MLP(dim, hidden) for _ in range(config.num_experts))
        self.shared = MLP(dim, hidden) if config.shared_expert else None
        self.router = nn.Linear(dim, config.num_experts, bias=False)
        self.balance_loss = torch.zeros(())

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """x (B, N, D); c (B, S, D) conditioning, used by the "noise" router (first slot)."""
        cfg = self.config
        if cfg.router == "noise":
            if c is None:
                raise ValueError("a noise-routed MoE needs the conditioning vector")
            logits = self.router(c[:, :1]).expand(-1, x.shape[1], -1)  # (B, N, E)
        else:
            logits = self.router(x)
        probs = logits.float().softmax(-1)
        weights, chosen = probs.topk(cfg.top_k, dim=-1)  # (B, N, k)
        weights = (weights / weights.sum(-1, keepdim=True)).to(x.dtype)
        out = self.shared(x) if self.shared is not None else torch.zeros_like(x)
        flat_x, flat_out = x.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1])
        flat_chosen, flat_w = chosen.reshape(-1, cfg.top_k), weights.reshape(-1, cfg.top_k)
        for e, expert in enumerate(self.experts):
            rows, slot = (flat_chosen == e).nonzero(as_tuple=True)
            if rows.numel():
                flat_out = flat_out.index_add(
                    0, rows, expert(flat_x[rows]) * flat_w[rows, slot, None]
                )
        fraction = F.one_hot(chosen, cfg.num_experts).float().mean(dim=(0, 1, 2))
        self.balance_loss = (
            cfg.balance_weight * cfg.num_experts * (fraction * probs.mean(dim=(0, 1))).sum()
        )
        return flat_out.view_as(x)
