"""PARD's structural partial order: peel a graph into blocks, core first, leaves last.

Repeatedly give every remaining node its hop-weighted degree — with ``x_0 = 1`` and
``x_h = (I + A) x_{h-1}`` (x_1 = 1 + degree, x_h counts the walks of length ≤ h with repeats),
``w = w · n + x_h`` over h = 1..H, so the degree dominates and farther hops break ties, as PARD's
``compute_higher_order_degrees`` — remove *all* nodes of the current minimum as one block, and repeat on what remains;
finally reverse the list. Generation then grows the graph from its dense core outwards, one
block of nodes (with their edges to every earlier node) at a time. ``hops = 0`` puts every node
in one block (plain one-shot diffusion).
"""

from __future__ import annotations

import networkx as nx
import numpy as np


def hop_weighted_degrees(adjacency: np.ndarray, hops: int) -> np.ndarray:
    """(n,) float64 hop-weighted degree of every node of a 0/1 adjacency (n, n) (module
    docstring)."""
    n = adjacency.shape[0]
    step = (adjacency > 0).astype(np.float64) + np.eye(n)
    x = np.ones(n)
    weighted = np.zeros(n)
    for _ in range(hops):
        x = step @ x
        weighted = weighted * n + x
    return weighted


def peel_blocks(graph: nx.Graph, hops: int = 1) -> list[list[int]]:
    """The blocks of `graph` (nodes ``0..n-1``) in generation order: a list of node lists whose
    concatenation is a permutation of the nodes (see the module docstring)."""
    n = graph.number_of_nodes()
    if hops == 0:
        return [list(range(n))] if n else []
    adjacency = nx.to_numpy_array(graph, nodelist=range(n), dtype=np.int64)
    remaining = np.arange(n)
    peeled: list[list[int]] = []
    while remaining.size:
        sub = adjacency[np.ix_(remaining, remaining)]
        degree = hop_weighted_degrees(sub, hops)
        lowest = degree == degree.min()
        peeled.append(sorted(int(v) for v in remaining[lowest]))
        remaining = remaining[~lowest]
    return peeled[::-1]


def block_index(blocks: list[list[int]], n: int) -> np.ndarray:
    """(n,) int64: the position of each node's block in `blocks`."""
    out = np.full(n, -1, dtype=np.int64)
    for k, block in enumerate(blocks):
        out[block] = k
    if (out < 0).any():
        raise ValueError(f"blocks do not cover nodes {np.flatnonzero(out < 0).tolist()}")
    return out
