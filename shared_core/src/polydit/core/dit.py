"""The Diffusion Transformer: embed tokens, run a plain list of adaLN-Zero blocks, project out.

Domains hand it :class:`~polydit.core.tokens.Tokens` (already patchified/encoded by their codec),
a time t (B,) in [0, 1] (t = 0 data, t = 1 noise) and a :class:`~polydit.core.tokens.Cond`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.nn import (
    AxialRoPE,
    BlockInputs,
    DiTBlock,
    FinalLayer,
    JointBlock,
    LabelEmbedding,
    MoEConfig,
    MoEMLP,
    TimestepEmbedding,
    sincos_embedding,
)
from polydit.core.nn.attention import key_mask
from polydit.core.tokens import Cond, Tokens

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 128, "depth": 4, "heads": 4},
    "S": {"hidden": 384, "depth": 12, "heads": 6},
    "B": {"hidden": 768, "depth": 12, "heads": 12},
    "L": {"hidden": 1024, "depth": 24, "heads": 16},
    "XL": {"hidden": 1152, "depth": 28, "heads": 16},
}


@dataclass(frozen=True)
class DiTConfig(JsonConfig):
    """Architecture of a :class:`DiT`.

    in_dim / out_dim: token channels in and out (out defaults to in).
    pos_embed: "rope" (axial RoPE over ``pos_axes`` axes), "sincos" (fixed absolute sin-cos added
        to the input embedding) or "none" (a set: permutation-equivariant).
    num_classes > 0: label embedding with a null class; vector_dim > 0: a projected
        ``Cond.vector``; context_dim > 0: MM-DiT joint blocks over ``Cond.context``.
    time_scale: the time embedding sees ``t * time_scale``.
    self_condition: add a zero-initialised linear embedding of ``Cond.self_cond`` (the previous
        clean estimate, zeros when absent) to the token embedding (Chen et al. 2022); a
        checkpoint without it loads with its zero initialisation unchanged.
    """

    in_dim: int
    out_dim: int | None = None
    hidden: int = 384
    depth: int = 12
    heads: int = 6
    mlp_ratio: float = 4.0
    pos_embed: str = "rope"
    pos_axes: int = 1
    rope_theta: float = 10000.0
    qk_norm: bool = False
    num_classes: int = 0
    vector_dim: int = 0
    context_dim: int = 0
    moe: MoEConfig | None = None
    time_scale: float = 1000.0
    norm_eps: float = 1e-6
    self_condition: bool = False

    def __post_init__(self) -> None:
        if self.pos_embed not in ("rope", "sincos", "none"):
            raise ConfigError(
                f"DiTConfig.pos_embed must be rope|sincos|none, got {self.pos_embed!r}"
            )
        if self.hidden % self.heads:
            raise ConfigError(
                f"DiTConfig.hidden={self.hidden} is not divisible by heads={self.heads}"
            )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> DiTConfig:
        """A named size ("tiny", "S", "B", "L", "XL") with any field overridden."""
        if name not in PRESETS:
            raise ConfigError(f"unknown DiT preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


class DiT(nn.Module):
    """``forward(tokens, t, cond) -> (B, N, out_dim)``; :attr:`blocks` is a plain ModuleList."""

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = cfg = config
        d = cfg.hidden
        self.embed = nn.Linear(cfg.in_dim, d)
        self.self_embed = nn.Linear(cfg.in_dim, d) if cfg.self_condition else None
        self.time = TimestepEmbedding(d, cfg.time_scale)
        self.labels = LabelEmbedding(cfg.num_classes, d) if cfg.num_classes else None
        self.vector = nn.Linear(cfg.vector_dim, d) if cfg.vector_dim else None
        self.null_vector = nn.Parameter(torch.zeros(d)) if cfg.vector_dim else None
        self.context = nn.Linear(cfg.context_dim, d) if cfg.context_dim else None
        self.rope = (
            AxialRoPE(d // cfg.heads, cfg.pos_axes, cfg.rope_theta)
            if cfg.pos_embed == "rope"
            else None
        )
        self.blocks = nn.ModuleList(self.make_block() for _ in range(cfg.depth))
        self.head = FinalLayer(d, cfg.out_dim or cfg.in_dim, cfg.norm_eps)
        self.add_heads()
        self._init_weights()

    def make_block(self) -> nn.Module:
        """One transformer block: adaLN-Zero, or MM-DiT joint with context tokens."""
        cfg = self.config
        block = JointBlock if cfg.context_dim else DiTBlock
        options = {"mlp_ratio": cfg.mlp_ratio, "qk_norm": cfg.qk_norm, "eps": cfg.norm_eps}
        return block(cfg.hidden, cfg.heads, moe=cfg.moe, **options)

    def add_heads(self) -> None:
        """Hook for a subclass's extra modules, created before the weights are initialised."""

    def _init_weights(self) -> None:
        """Xavier-uniform linears, N(0, 0.02) embeddings; adaLN and output stay zero (adaLN-Zero),
        and so does the self-conditioning embedding."""
        for m in self.modules():
            if isinstance(m, nn.Linear) and not getattr(m, "zero_init", False):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for layer in (self.time.mlp[0], self.time.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)
        if self.labels is not None:
            nn.init.normal_(self.labels.table.weight, std=0.02)
        if self.self_embed is not None:
            nn.init.zeros_(self.self_embed.weight)
            nn.init.zeros_(self.self_embed.bias)

    def forward(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ) -> Tensor:
        """tokens.x (B, N, in_dim), t (B,) → (B, N, out_dim).

        bias: optional (B, H, N, N) additive attention bias among the tokens (pair features).
        """
        h, inputs = self.prepare(tokens, t, cond, bias)
        for block in self.blocks:
            h = block(h, inputs)
        return self.head(h[:, inputs.num_context :], inputs)

    def prepare(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ) -> tuple[Tensor, BlockInputs]:
        """Embed tokens and conditioning: the block input (B, L, D) and the shared BlockInputs."""
        cfg, cond = self.config, cond or Cond()
        x = tokens.x
        if x.shape[-1] != cfg.in_dim:
            raise ConfigError(
                f"tokens have {x.shape[-1]} channels; this DiT expects in_dim={cfg.in_dim}"
            )
        h = self.embed(x)
        if self.self_embed is not None:
            h = h + self.self_embed(
                x.new_zeros(()).expand_as(x) if cond.self_cond is None else cond.self_cond
            )
        elif cond.self_cond is not None:
            raise ConfigError("Cond.self_cond was given but this DiT has self_condition=False")
        rope = None
        if cfg.pos_embed != "none":
            if tokens.pos is None or tokens.pos.shape[-1] != cfg.pos_axes:
                raise ConfigError(
                    f"DiT with pos_embed={cfg.pos_embed!r} needs Tokens.pos with {cfg.pos_axes} axes"
                )
            if cfg.pos_embed == "sincos":
                h = h + sincos_embedding(tokens.pos, cfg.hidden).to(h.dtype)
            else:
                rope = self.rope(tokens.pos)

        extra = self._condition(cond, x.shape[0])
        times = (
            t if cond.given is None else torch.stack([t, torch.zeros_like(t)], 1)
        )  # (B,) | (B, 2)
        c = self.time(times.reshape(-1)).view(x.shape[0], -1, cfg.hidden) + extra[:, None]
        slot = None if cond.given is None else cond.given.long()

        m, mask = 0, tokens.mask
        if cond.context is not None:
            if self.context is None:
                raise ConfigError("Cond.context was given but this DiT has context_dim=0")
            ctx = self.context(cond.context)
            m = ctx.shape[1]
            ctx_mask = cond.context_mask
            if cond.dropped is not None:  # the null context: no context token is attended
                keep = ~cond.dropped[:, None]
                ctx_mask = keep if ctx_mask is None else ctx_mask & keep
                ctx_mask = ctx_mask.expand(-1, m)
            mask = key_mask(ctx_mask, tokens.mask, lengths=(m, x.shape[1]), like=x)
            h = torch.cat([ctx, h], dim=1)
            if bias is not None:  # context rows and columns get no bias
                bias = torch.nn.functional.pad(bias, (m, 0, m, 0))
        if cond.joint_bias is not None:
            if tuple(cond.joint_bias.shape[1:]) != (h.shape[1], h.shape[1]):
                raise ConfigError(
                    f"Cond.joint_bias must be (B, {h.shape[1]}, {h.shape[1]}) over [context; "
                    f"tokens], got {tuple(cond.joint_bias.shape)}"
                )
            joint = cond.joint_bias[:, None].to(h.dtype)  # (B, 1, L, L), every head
            bias = joint if bias is None else bias + joint
        inputs = BlockInputs(c=c, slot=slot, rope=rope, mask=mask, bias=bias, num_context=m)
        return h, inputs

    def _condition(self, cond: Cond, batch: int) -> Tensor:
        """Label + vector embedding (B, D) added to the time embedding."""
        cfg, dropped = self.config, cond.dropped
        device = self.embed.weight.device
        extra = torch.zeros(batch, cfg.hidden, device=device, dtype=self.embed.weight.dtype)
        if cond.labels is not None and self.labels is None:
            raise ConfigError("Cond.labels was given but this DiT has num_classes=0")
        if cond.vector is not None and self.vector is None:
            raise ConfigError("Cond.vector was given but this DiT has vector_dim=0")
        if self.labels is not None:  # no labels = the null class (unconditional)
            labels = cond.labels
            if labels is None:
                labels = torch.full((batch,), cfg.num_classes, dtype=torch.long, device=device)
            extra = extra + self.labels(labels, dropped)
        if self.vector is not None:  # no vector = the null vector (unconditional)
            null = self.null_vector.to(extra.dtype)
            if cond.vector is None:
                extra = extra + null
            else:
                v = self.vector(cond.vector)
                extra = extra + (v if dropped is None else torch.where(dropped[:, None], null, v))
        return extra

    def aux_loss(self) -> Tensor:
        """Sum of the MoE balance losses of the last forward (0 without MoE)."""
        losses = [m.balance_loss for m in self.modules() if isinstance(m, MoEMLP)]
        return torch.stack(losses).sum() if losses else torch.zeros(())
