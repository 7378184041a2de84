"""`GraphCodec`: networkx graphs ↔ dense categorical states, padded to `max_nodes`.

A batch of B graphs is node types ``nodes (B, N)`` long in ``[0, node_classes)``, edge types
``edges (B, N, N)`` long, symmetric with a zero diagonal, 0 = no edge and ``1 + k`` an edge of
category k, and ``mask (B, N)`` True on real nodes (padding nodes and their pairs are 0). The
codec also holds the training distribution of node counts, from which a one-shot sample draws
its size, and is the graph's part of the model's identity (a warm start checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError, DataError
from polydit.core.tokens import Tokens
from polydit.graph.blocks import block_index, peel_blocks
from polydit.graph.data import GraphSet


@dataclass
class GraphTokens(Tokens):
    """Tokens whose x is the one-hot node state (B, N, node_classes) plus the dense edge state
    ``edges (B, N, N)`` long and the node state ``nodes (B, N)`` long."""

    nodes: Tensor | None = None
    edges: Tensor | None = None


@dataclass(frozen=True)
class GraphCodec(JsonConfig):
    """Dense graph states of at most `max_nodes` nodes (module docstring).

    dataset: the training set's name (a built-in's name tells eval its validity test).
    size_counts: size_counts[n] = the number of training graphs with n nodes (the one-shot
        size distribution). node_attr / edge_attr: the attribute names categories are read from
        and written to; node_categories / edge_categories: their values (as strings).
    """

    max_nodes: int = 64
    dataset: str = ""
    size_counts: tuple[int, ...] = ()
    node_attr: str | None = None
    edge_attr: str | None = None
    node_categories: tuple[str, ...] = ()
    edge_categories: tuple[str, ...] = ()
    walk_steps: int = 12

    def __post_init__(self) -> None:
        if self.max_nodes < 1:
            raise ConfigError(f"GraphCodec.max_nodes={self.max_nodes}; expected ≥ 1")
        if self.size_counts and len(self.size_counts) != self.max_nodes + 1:
            raise ConfigError(
                f"GraphCodec.size_counts has {len(self.size_counts)} entries; expected "
                f"max_nodes + 1 = {self.max_nodes + 1}"
            )

    @classmethod
    def for_graphs(
        cls, graphs: GraphSet, max_nodes: int | None = None, walk_steps: int = 12
    ) -> GraphCodec:
        """The codec of a training set: its categories and size distribution."""
        counts = graphs.node_counts()
        largest = int(counts.max())
        max_nodes = largest if max_nodes is None else max_nodes
        if largest > max_nodes:
            raise DataError(f"{graphs.name}: a graph has {largest} nodes > max_nodes={max_nodes}")
        return cls(
            max_nodes=max_nodes,
            dataset=graphs.name,
            size_counts=tuple(int(c) for c in np.bincount(counts, minlength=max_nodes + 1)),
            node_attr=graphs.node_attr,
            edge_attr=graphs.edge_attr,
            node_categories=graphs.node_categories,
            edge_categories=graphs.edge_categories,
            walk_steps=walk_steps,
        )

    @property
    def node_classes(self) -> int:
        """Node states: one per category (1 when nodes carry none)."""
        return max(1, len(self.node_categories))

    @property
    def edge_classes(self) -> int:
        """Edge states: "no edge" plus one per category (2 when edges carry none)."""
        return 1 + max(1, len(self.edge_categories))

    # --- data -----------------------------------------------------------------------------
    def dense(self, graphs: GraphSet, hops: int | None = None) -> DenseGraphs:
        """Every graph of `graphs` as dense states (categories must be this codec's). With
        `hops`, nodes are renumbered in PARD's block order (:func:`~polydit.graph.blocks.peel_blocks`)
        and ``blocks`` holds each node's block index."""
        theirs = (graphs.node_categories, graphs.edge_categories)
        if theirs != (self.node_categories, self.edge_categories):
            raise DataError(
                f"{graphs.name}: node/edge categories {theirs} differ from the model's "
                f"{(self.node_categories, self.edge_categories)}"
            )
        g, n = len(graphs), self.max_nodes
        nodes = torch.zeros(g, n, dtype=torch.long)
        edges = torch.zeros(g, n, n, dtype=torch.long)
        mask = torch.zeros(g, n, dtype=torch.bool)
        blocks = torch.full((g, n), -1, dtype=torch.long)
        for i, graph in enumerate(graphs):
            size = graph.number_of_nodes()
            if size > n:
                raise DataError(f"{graphs.name}: graph {i} has {size} nodes > max_nodes={n}")
            order = np.arange(size)
            if hops is not None:
                peeled = peel_blocks(graph, hops)
                order = np.concatenate(peeled)
                blocks[i, :size] = torch.from_numpy(block_index(peeled, size)[order])
            nodes[i, :size] = torch.from_numpy(graphs.node_types(i)[order])
            edges[i, :size, :size] = torch.from_numpy(graphs.edge_types(i)[np.ix_(order, order)])
            mask[i, :size] = True
        return DenseGraphs(nodes, edges, mask, blocks, self)

    def encode(self, batch: dict[str, Tensor]) -> GraphTokens:
        """A batch of :class:`DenseGraphs` → GraphTokens (x = one-hot node states)."""
        x = torch.nn.functional.one_hot(batch["nodes"], self.node_classes).float()
        return GraphTokens(x, None, batch["mask"], batch["nodes"], batch["edges"])

    def template(self, num: int, seed: int = 0) -> GraphTokens:
        """Empty states of `num` graphs whose sizes are drawn from the training distribution,
        graph i from a generator seeded seed + i."""
        if not any(self.size_counts):
            raise ConfigError("GraphCodec.size_counts is empty: the model has no size distribution")
        weights = torch.tensor(self.size_counts, dtype=torch.float64)
        sizes = [
            int(torch.multinomial(weights, 1, generator=torch.Generator().manual_seed(seed + i)))
            for i in range(num)
        ]
        return self.empty(sizes)

    def empty(self, sizes: list[int]) -> GraphTokens:
        """All-zero states for graphs of the given node counts."""
        n = self.max_nodes
        mask = torch.arange(n)[None, :] < torch.tensor(sizes, dtype=torch.long)[:, None]
        nodes = torch.zeros(len(sizes), n, dtype=torch.long)
        edges = torch.zeros(len(sizes), n, n, dtype=torch.long)
        return self.encode({"nodes": nodes, "edges": edges, "mask": mask})

    def decode(self, x: Tensor, template: GraphTokens) -> list[nx.Graph]:
        """Node states x (B, N) long with ``template.edges`` (B, N, N) and ``template.mask`` →
        networkx graphs with nodes ``0..n-1`` and their categorical attributes."""
        graphs = []
        for b in range(x.shape[0]):
            size = int(template.mask[b].sum())
            nodes, edges = x[b, :size].tolist(), template.edges[b, :size, :size]
            graph = nx.Graph()
            for v, kind in enumerate(nodes):
                attrs = {self.node_attr: self.node_categories[kind]} if self.node_attr else {}
                graph.add_node(v, **attrs)
            for u, v in torch.triu(edges, diagonal=1).nonzero().tolist():
                kind = int(edges[u, v]) - 1
                attrs = {self.edge_attr: self.edge_categories[kind]} if self.edge_attr else {}
                graph.add_edge(u, v, **attrs)
            graphs.append(graph)
        return graphs


@dataclass(frozen=True)
class DenseGraphs:
    """A training set as dense states (module docstring); ``batch(indices)`` → a dict of
    nodes (K, N), edges (K, N, N), mask (K, N), blocks (K, N) (PARD block index, −1 on padding
    and for one-shot sets); `codec` is the codec that made them."""

    nodes: Tensor
    edges: Tensor
    mask: Tensor
    blocks: Tensor
    codec: GraphCodec

    def __len__(self) -> int:
        return self.nodes.shape[0]

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.batch(torch.tensor([index]))

    def batch(self, indices: Tensor) -> dict[str, Any]:
        return {
            "nodes": self.nodes[indices],
            "edges": self.edges[indices],
            "mask": self.mask[indices],
            "blocks": self.blocks[indices],
        }
