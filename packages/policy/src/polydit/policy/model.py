"""The policy DiT's configuration, the MLP behaviour-cloning network, and cost accounting.

Policy DiT: MM-DiT joint attention between the action-chunk stream (H tokens, 1-D RoPE) and the
observation-history context stream (n_obs tokens); the task id enters adaLN through the label
embedding. ``moe=True`` gives MoDE's mixture-of-experts MLP routed by the noise conditioning
(the router sees the time + task embedding only, never the tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.config import JsonConfig
from polydit.core.dit import DiT, DiTConfig
from polydit.core.nn import MoEConfig
from polydit.policy.codec import ActionCodec


def policy_dit_config(
    codec: ActionCodec,
    *,
    hidden: int = 128,
    depth: int = 4,
    heads: int = 4,
    moe: bool = False,
    num_experts: int = 4,
    top_k: int = 2,
) -> DiTConfig:
    """The DiT over action-chunk tokens conditioned on observation context tokens and the task."""
    return DiTConfig(
        in_dim=codec.action_dim,
        out_dim=codec.action_dim,
        hidden=hidden,
        depth=depth,
        heads=heads,
        pos_embed="rope",
        pos_axes=1,
        qk_norm=True,
        num_classes=len(codec.tasks) if codec.goal == "task" else 0,
        context_dim=codec.context_dim,
        moe=MoEConfig(num_experts=num_experts, top_k=top_k, router="noise") if moe else None,
    )


@dataclass(frozen=True)
class MLPConfig(JsonConfig):
    """MLP behaviour cloning: flattened observation history + one-hot task → `chunk` actions."""

    in_dim: int
    num_tasks: int
    action_dim: int
    chunk: int = 1
    hidden: int = 256
    depth: int = 3


class MLPPolicy(nn.Module):
    """``forward(context (B, n_obs, C), task (B,)) -> (B, chunk, A)`` normalised actions."""

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = cfg = config
        layers: list[nn.Module] = []
        width = cfg.in_dim + cfg.num_tasks
        for _ in range(cfg.depth):
            layers += [nn.Linear(width, cfg.hidden), nn.GELU()]
            width = cfg.hidden
        layers.append(nn.Linear(width, cfg.chunk * cfg.action_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, context: Tensor, task: Tensor) -> Tensor:
        onehot = nn.functional.one_hot(task.long(), self.config.num_tasks).to(context.dtype)
        out = self.net(torch.cat([context.flatten(1), onehot], dim=-1))
        return out.view(-1, self.config.chunk, self.config.action_dim)


# --- cost accounting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Parameters (total and active per token) and multiply-add FLOPs (×2) of one chunk."""

    params_total: int
    params_active: int
    flops_per_forward: int
    flops_per_chunk: int


def _linear_flops(module: nn.Linear, tokens: int) -> int:
    return 2 * module.in_features * module.out_features * tokens


def dit_cost(model: DiT, num_tokens: int, num_context: int, steps: int) -> Cost:
    """Analytic cost of a DiT forward on one sample (linear layers + attention matmuls).

    MoE MLPs count the shared expert + the top_k routed experts; the noise router runs once
    per sample (it sees only the time + task conditioning).
    """
    from polydit.core.nn import MoEMLP

    cfg = model.config
    total = sum(p.numel() for p in model.parameters())
    inactive = 0
    flops = 0
    length = num_tokens + num_context
    for name, module in model.named_modules():
        if isinstance(module, MoEMLP):
            experts = list(module.experts)
            per_expert = sum(p.numel() for p in experts[0].parameters())
            inactive += (len(experts) - module.config.top_k) * per_expert
        if not isinstance(module, nn.Linear):
            continue
        if ".experts." in name:
            idx = int(name.split(".experts.")[1].split(".")[0])
            if idx >= (cfg.moe.top_k if cfg.moe else 0):
                continue  # count top_k experts per token
        if name.startswith("context") or ".ctx." in name:
            tokens = num_context
        elif name.startswith(("time", "labels", "vector")) or "adaln" in name or "router" in name:
            tokens = 1
        else:
            tokens = num_tokens
        flops += _linear_flops(module, tokens)
    flops += cfg.depth * 2 * 2 * length * length * cfg.hidden  # QK^T and AV
    return Cost(total, total - inactive, flops, flops * steps)


def mlp_cost(model: MLPPolicy) -> Cost:
    params = sum(p.numel() for p in model.parameters())
    flops = sum(_linear_flops(m, 1) for m in model.modules() if isinstance(m, nn.Linear))
    return Cost(params, params, flops, flops)


def describe(policy: Any) -> dict[str, Any]:
    """What ``info`` shows of a policy DiT or an MLP-BC baseline: tasks, chunking, demo seeds,
    architecture and sampling (a DiT), parameters and MFLOPs per chunk."""
    from polydit.policy.baselines import MLPBaseline

    codec = policy.codec
    details: dict[str, Any] = {
        "tasks": ", ".join(codec.tasks),
        "horizon": codec.horizon,
        "n_obs": codec.n_obs,
        "n_action_steps": codec.n_action_steps,
        "demo_seeds": f"0..{codec.demo_seed_max}",
    }
    if isinstance(policy, MLPBaseline):
        cost = mlp_cost(policy.model)
        details["kind"] = f"mlp_bc ({policy.kind})"
    else:
        cfg = policy.model.config
        cost = dit_cost(policy.model, codec.horizon, codec.num_context, policy.sampling.steps)
        details.update(
            kind="dit",
            hidden=cfg.hidden,
            depth=cfg.depth,
            heads=cfg.heads,
            moe=cfg.moe is not None,
            goal=codec.goal,
            steps=policy.sampling.steps,
            sampler=policy.sampling.sampler,
        )
    details.update(
        params_total=cost.params_total,
        params_active=cost.params_active,
        mflops_per_chunk=round(cost.flops_per_chunk / 1e6, 2),
    )
    return details
