"""What the :class:`~polydit.core.edge_dit.EdgeDiT` sees of a graph state and what it returns.

Node tokens are ``[onehot(node type), random-walk return probabilities (K), n / max_nodes]``
and pair features ``[onehot(edge type), random-walk probabilities (K)]``
(:mod:`polydit.graph.features`, recomputed from the noisy state at every call). In "pard" mode
a state also has ``new (B, N)``: the block being generated. Its nodes get a flag, pairs that
touch it a flag, and attention is block-causal — earlier nodes see only earlier nodes, and
their features and n come from the earlier graph alone — so the earlier nodes' outputs say
nothing about the new block, and their mean is read as the logits of the *next* block's size
(the size head: node output channels beyond the node types).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.core.edge_dit import EdgeDiT, EdgeDiTConfig
from polydit.core.nn.edges import block_causal_mask
from polydit.core.tokens import Tokens
from polydit.graph.codec import GraphCodec
from polydit.graph.diffusion import GraphDiffusionConfig
from polydit.graph.features import random_walk_features


@dataclass(frozen=True)
class GraphOutput:
    """node_logits (B, N, node_classes), edge_logits (B, N, N, edge_classes), size_logits
    (B, max_block + 1) in "pard" mode (else None)."""

    node_logits: Tensor
    edge_logits: Tensor
    size_logits: Tensor | None


def network_config(
    codec: GraphCodec,
    diffusion: GraphDiffusionConfig,
    *,
    hidden: int,
    depth: int,
    heads: int,
    edge_hidden: int,
) -> EdgeDiTConfig:
    """The EdgeDiT for a codec and process: channel counts follow from them."""
    pard = diffusion.mode == "pard"
    k = codec.walk_steps
    return EdgeDiTConfig(
        in_dim=codec.node_classes + k + 1 + pard,
        out_dim=codec.node_classes + (diffusion.max_block + 1 if pard else 0),
        hidden=hidden,
        depth=depth,
        heads=heads,
        pos_embed="none",
        edge_dim=codec.edge_classes + k + pard,
        edge_hidden=edge_hidden,
        edge_out_dim=codec.edge_classes,
    )


def run_network(
    model: EdgeDiT,
    codec: GraphCodec,
    nodes: Tensor,
    edges: Tensor,
    mask: Tensor,
    t: Tensor,
    new: Tensor | None = None,
) -> GraphOutput:
    """nodes (B, N) long, edges (B, N, N) long, mask (B, N) bool, t (B,), new (B, N) bool or
    None (one-shot) → :class:`GraphOutput`."""
    kx, ke, k = codec.node_classes, codec.edge_classes, codec.walk_steps
    adjacency = (edges > 0).float()
    node_walk, pair_walk = random_walk_features(adjacency, mask, k)
    size = mask.sum(1, keepdim=True).float()
    node_parts = [F.one_hot(nodes, kx).float()]
    edge_parts = [F.one_hot(edges, ke).float()]
    allowed = None
    if new is None:
        node_parts += [node_walk, (size / codec.max_nodes)[:, None].expand(-1, nodes.shape[1], 1)]
        edge_parts += [pair_walk]
    else:
        old = mask & ~new
        old_walk, old_pairs = random_walk_features(adjacency, old, k)
        touches = (new[:, :, None] | new[:, None, :])[..., None]
        prefix = old.sum(1, keepdim=True).float()
        n_seen = torch.where(new, size, prefix) / codec.max_nodes
        node_parts += [torch.where(new[..., None], node_walk, old_walk), n_seen[..., None]]
        node_parts += [new[..., None].float()]
        edge_parts += [torch.where(touches, pair_walk, old_pairs), touches.float()]
        allowed = block_causal_mask(new.long())
    tokens = Tokens(torch.cat(node_parts, -1), None, mask)
    node_out, edge_logits = model(tokens, t, None, torch.cat(edge_parts, -1), allowed)
    size_logits = None
    if new is not None:
        old = (mask & ~new).float()[..., None]
        size_logits = (node_out[..., kx:] * old).sum(1) / old.sum(1).clamp_min(1.0)
    return GraphOutput(node_out[..., :kx], edge_logits, size_logits)
