"""`EdgeDiT`: the DiT with an edge stream, for graphs (node tokens + pair features).

``forward(tokens, t, cond, edges, allowed) -> (nodes (B, N, out_dim), edges (B, N, N, E_out))``.
Tokens and conditioning are embedded as in :class:`~polydit.core.dit.DiT`; the pair features
``edges (B, N, N, edge_dim)`` get their own embedding and stream through every
:class:`~polydit.core.nn.edges.EdgeBlock`. ``allowed (B, N, N)`` restricts attention (e.g.
:func:`~polydit.core.nn.edges.block_causal_mask`). With ``symmetric_edges`` the edge output is
symmetrised, ``(ê + êᵀ) / 2``, as DiGress does for undirected graphs. With ``self_condition``
the previous clean estimate enters both streams through zero-initialised embeddings: the nodes'
as ``Cond.self_cond`` (B, N, in_dim) (the DiT's), the edges' as ``edges_self`` (B, N, N,
edge_dim); either is zeros when absent, so a checkpoint without self-conditioning loads with
unchanged outputs. Edge models run without MM-DiT context tokens and outside the training-free
caches.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.nn.edges import EdgeBlock, EdgeHead
from polydit.core.tokens import Cond, Tokens


@dataclass(frozen=True)
class EdgeDiTConfig(DiTConfig):
    """A DiTConfig with the edge stream: `edge_dim` input pair channels, `edge_hidden` stream
    width, `edge_out_dim` output channels (default edge_dim), `symmetric_edges`, and
    `edge_mlp_ratio` the edge MLP's expansion (DiGress: 2, its edge FFN 128 wide on 64)."""

    edge_dim: int = 1
    edge_hidden: int = 64
    edge_out_dim: int | None = None
    symmetric_edges: bool = True
    edge_mlp_ratio: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.edge_dim < 1 or self.edge_hidden < 1:
            raise ConfigError("EdgeDiTConfig: edge_dim and edge_hidden must be ≥ 1")
        if self.context_dim:
            raise ConfigError("EdgeDiTConfig: an edge model takes no context tokens")
        if self.moe is not None:
            raise ConfigError("EdgeDiTConfig: an edge model has no mixture-of-experts MLP")


class EdgeDiT(DiT):
    """DiT over node tokens with an edge stream (see module docstring)."""

    config: EdgeDiTConfig

    def make_block(self) -> nn.Module:
        cfg = self.config
        return EdgeBlock(
            cfg.hidden,
            cfg.heads,
            cfg.edge_hidden,
            cfg.mlp_ratio,
            cfg.qk_norm,
            cfg.norm_eps,
            edge_mlp_ratio=cfg.edge_mlp_ratio,
        )

    def add_heads(self) -> None:
        cfg = self.config
        self.edge_embed = nn.Linear(cfg.edge_dim, cfg.edge_hidden)
        self.edge_head = EdgeHead(
            cfg.hidden, cfg.edge_hidden, cfg.edge_out_dim or cfg.edge_dim, cfg.norm_eps
        )
        self.edge_self_embed = (
            nn.Linear(cfg.edge_dim, cfg.edge_hidden) if cfg.self_condition else None
        )

    def _init_weights(self) -> None:
        super()._init_weights()
        if self.edge_self_embed is not None:
            nn.init.zeros_(self.edge_self_embed.weight)
            nn.init.zeros_(self.edge_self_embed.bias)

    def forward(  # type: ignore[override]
        self,
        tokens: Tokens,
        t: Tensor,
        cond: Cond | None = None,
        edges: Tensor | None = None,
        allowed: Tensor | None = None,
        edges_self: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """tokens.x (B, N, in_dim), t (B,), edges and edges_self (B, N, N, edge_dim), allowed
        (B, N, N) bool → (nodes (B, N, out_dim), edges (B, N, N, edge_out_dim))."""
        b, n = tokens.x.shape[:2]
        expected = (b, n, n, self.config.edge_dim)
        checked = (
            {"edges": edges} if edges_self is None else {"edges": edges, "edges_self": edges_self}
        )
        for name, value in checked.items():
            if value is None or tuple(value.shape) != expected:
                got = None if value is None else tuple(value.shape)
                raise ConfigError(f"EdgeDiT needs {name} of shape {expected}, got {got}")
        h, inputs = self.prepare(tokens, t, cond)
        e = self.edge_embed(edges)
        if self.edge_self_embed is not None:
            e = e + self.edge_self_embed(
                edges.new_zeros(()).expand_as(edges) if edges_self is None else edges_self
            )
        elif edges_self is not None:
            raise ConfigError("edges_self was given but this EdgeDiT has self_condition=False")
        for block in self.blocks:
            h, e = block(h, e, inputs, allowed)
        out = self.edge_head(e, inputs)
        if self.config.symmetric_edges:
            out = (out + out.transpose(1, 2)) / 2
        return self.head(h, inputs), out
