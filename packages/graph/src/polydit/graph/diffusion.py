"""`GraphDiffusion`: the categorical processes over node and edge types and how they are weighted.

Both states share t (t = 0 data, t = 1 the limit distribution, the core convention) under
:class:`~polydit.core.process.CategoricalDiffusion`; the loss is DiGress's
``CE(nodes) + edge_weight · CE(edges)`` over the entries being generated. ``mode`` says what
is generated at once: "oneshot" every node and edge (DiGress), "pard" one block of nodes with
their edges to every earlier node, grown block by block (PARD, :mod:`polydit.graph.blocks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.nn import functional as F

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import CategoricalSampling
from polydit.core.process import (
    CategoricalConfig,
    CategoricalDiffusion,
    class_frequencies,
)

if TYPE_CHECKING:
    from polydit.graph.codec import DenseGraphs

MODES = ("oneshot", "pard")


@dataclass(frozen=True)
class GraphDiffusionConfig(JsonConfig):
    """mode: "oneshot" | "pard". nodes: the node-type process (None when nodes have one type);
    edges: the edge-type process (class 0 = no edge). edge_weight: λ of the loss (DiGress: 5).
    pard only — hops: the peeling's hop count; max_block: the largest block size the size
    head predicts (it predicts 0..max_block, 0 = stop); first_block_counts: the training
    distribution of the first block's size (first_block_counts[s] graphs start with s nodes);
    size_weight: the weight of the size head's cross-entropy."""

    mode: str = "oneshot"
    nodes: CategoricalConfig | None = None
    edges: CategoricalConfig = field(default_factory=CategoricalConfig)
    edge_weight: float = 5.0
    hops: int = 1
    max_block: int = 0
    first_block_counts: tuple[int, ...] = ()
    size_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"GraphDiffusionConfig.mode={self.mode!r}; expected one of {MODES}")
        if self.mode == "pard" and (self.max_block < 1 or not any(self.first_block_counts)):
            raise ConfigError(
                "GraphDiffusionConfig: mode='pard' needs max_block ≥ 1 and first_block_counts"
            )


class GraphDiffusion:
    """The node and edge processes of one graph model (see the module docstring)."""

    def __init__(self, config: GraphDiffusionConfig):
        self.config = config
        self.nodes = None if config.nodes is None else CategoricalDiffusion(config.nodes)
        self.edges = CategoricalDiffusion(config.edges)

    @property
    def mode(self) -> str:
        return self.config.mode

    def corrupt(
        self,
        nodes: Tensor,
        edges: Tensor,
        free_nodes: Tensor,
        free_edges: Tensor,
        t: Tensor,
        generator: torch.Generator,
    ) -> tuple[Tensor, Tensor]:
        """Node types (B, N) and symmetric edge types (B, N, N) with the free entries (nodes
        (B, N) bool; edges the upper-triangle pairs, (B, N, N) bool) corrupted at t (B,)."""
        noisy = torch.where(free_edges, self.edges.corrupt(edges, t, generator), edges)
        noisy = torch.triu(noisy, 1)
        if self.nodes is not None:
            nodes = torch.where(free_nodes, self.nodes.corrupt(nodes, t, generator), nodes)
        return nodes, noisy + noisy.transpose(1, 2)

    def loss(
        self,
        node_logits: Tensor,
        edge_logits: Tensor,
        nodes: Tensor,
        edges: Tensor,
        free_nodes: Tensor,
        free_edges: Tensor,
    ) -> dict[str, Tensor]:
        """``{"loss": CE(nodes) + edge_weight · CE(edges), "edges": …, "nodes": …}`` over the
        free entries."""
        edge_loss = self.edges.loss(edge_logits, edges, free_edges)
        scores = {"loss": self.config.edge_weight * edge_loss, "edges": edge_loss}
        if self.nodes is not None:
            scores["nodes"] = self.nodes.loss(node_logits, nodes, free_nodes)
            scores["loss"] = scores["loss"] + scores["nodes"]
        return scores

    def with_size_loss(
        self, scores: dict[str, Tensor], size_logits: Tensor, new: Tensor, scored: Tensor
    ) -> dict[str, Tensor]:
        """PARD: `scores` plus the block-size head's cross-entropy (key "size", weighted by
        size_weight into "loss") of size_logits (B, max_block + 1) against |new| per graph
        (new (B, N) bool; 0 = stop), averaged over the graphs of `scored` (B,) bool."""
        target = new.sum(1).clamp_max(self.config.max_block)
        nll = F.cross_entropy(size_logits.float(), target, reduction="none")
        size = (nll * scored).sum() / scored.sum().clamp_min(1)
        return scores | {"size": size, "loss": scores["loss"] + self.config.size_weight * size}


def upper_pairs(mask: Tensor) -> Tensor:
    """(B, N, N) bool: the pairs i < j of real nodes of `mask` (B, N)."""
    return torch.triu(mask[:, :, None] & mask[:, None, :], diagonal=1)


def fitted_config(
    mode: str, data: DenseGraphs, transition: str, schedule: str, **options: Any
) -> GraphDiffusionConfig:
    """The processes of a model of `data`: marginal transitions take the training set's node
    and edge type frequencies; "pard" also takes its block sizes (max_block, first block)."""
    codec, kinds = data.codec, {"transition": transition, "schedule": schedule}

    def process(states: Tensor, classes: int, where: Tensor) -> CategoricalConfig:
        marginals = class_frequencies(states, classes, where) if transition == "marginal" else None
        return CategoricalConfig(num_classes=classes, marginals=marginals, **kinds)

    edges = process(data.edges, codec.edge_classes, upper_pairs(data.mask))
    nodes = process(data.nodes, codec.node_classes, data.mask) if codec.node_classes > 1 else None
    if mode == "pard":
        sizes = torch.stack([(data.blocks == k).sum(1) for k in range(codec.max_nodes)])
        first = torch.bincount(sizes[0], minlength=codec.max_nodes + 1)
        options["max_block"] = int(sizes.max())
        options["first_block_counts"] = tuple(int(c) for c in first)
    return GraphDiffusionConfig(mode, nodes, edges, **options)


@dataclass(frozen=True)
class GraphSampling(CategoricalSampling):
    """Sampling defaults of a graph model: `steps` per generated block (the whole graph in
    "oneshot"); the categorical sampler settings of :class:`CategoricalSampling`."""

    steps: int = 500
