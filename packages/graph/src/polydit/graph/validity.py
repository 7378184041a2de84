"""Validity of a generated graph per benchmark dataset, as SPECTRE / DiGress define it.

* ``planar`` — connected and planar (``nx.check_planarity``);
* ``tree`` — ``nx.is_tree``;
* ``grid`` — isomorphic to some ``grid_2d_graph(i, j)`` with i, j in 2..19 of the same node count;
* ``sbm`` — the block-model test of :mod:`polydit.graph.blockmodel`, **approximate** (a spectral
  fit replaces graph-tool's).

``community-small`` has no validity in the anchors. An empty graph is never valid.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import networkx as nx

from polydit.graph.blockmodel import is_sbm_graph

GRID_SIDES = (2, 19)  # DiGress is_grid_graph: range(2, 20) for both sides


def is_planar_graph(graph: nx.Graph) -> bool:
    """Connected and planar."""
    if graph.number_of_nodes() == 0:
        return False
    return nx.is_connected(graph) and nx.check_planarity(graph)[0]


def is_tree_graph(graph: nx.Graph) -> bool:
    """A tree (connected, n - 1 edges)."""
    return graph.number_of_nodes() > 0 and nx.is_tree(graph)


@lru_cache(maxsize=1)
def _grids_by_size() -> dict[int, tuple[nx.Graph, ...]]:
    lo, hi = GRID_SIDES
    grids: dict[int, list[nx.Graph]] = {}
    for i in range(lo, hi + 1):
        for j in range(lo, hi + 1):
            grids.setdefault(i * j, []).append(nx.grid_2d_graph(i, j))
    return {n: tuple(g) for n, g in grids.items()}


def is_grid_graph(graph: nx.Graph) -> bool:
    """Isomorphic to a 2-D grid with sides in 2..19 (``faster_could_be_isomorphic`` first)."""
    for grid in _grids_by_size().get(graph.number_of_nodes(), ()):
        if nx.faster_could_be_isomorphic(graph, grid) and nx.is_isomorphic(graph, grid):
            return True
    return False


VALIDITY: dict[str, Callable[[nx.Graph], bool]] = {
    "planar": is_planar_graph,
    "tree": is_tree_graph,
    "grid": is_grid_graph,
    "sbm": is_sbm_graph,
}
APPROXIMATE = frozenset({"sbm"})  # validity checks that only approximate the reference


def validity_check(dataset: str) -> Callable[[nx.Graph], bool] | None:
    """The validity predicate of a built-in dataset, or None where the anchors define none."""
    return VALIDITY.get(dataset)
