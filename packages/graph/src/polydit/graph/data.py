"""Graph datasets: the SPECTRE / GraphRNN / GRAN benchmark sets, generated, and users' files.

Every dataset is a :class:`GraphSet`: networkx graphs with nodes ``0..n-1``, plus the set's name,
split and optional categorical node/edge attributes. The built-ins are generated on first use
with the anchors' recipes and fixed seeds, so the same name and split always give identical
graphs (nothing downloads):

===================  =====  ================================================================
name                 count  recipe
===================  =====  ================================================================
``planar``           200    64 uniform points in the unit square, edges of their Delaunay
                            triangulation (SPECTRE)
``sbm``              200    2–5 communities of 20–40 nodes each, p_intra 0.3, p_inter 0.005,
                            ``nx.stochastic_block_model`` (SPECTRE); node attribute ``block``
``community-small``  100    2 communities of ``n // 2`` nodes, n uniform in 12..20, each
                            ER(0.7) drawn with seeds 0 and 1 as in GDSS/SPECTRE (so graphs of
                            one size share their communities), bridges with probability
                            ``2 · 0.05 / n_c`` per cross pair, one bridge if none; ``block``
``tree``             200    uniform random labelled trees on 64 nodes (``random_labeled_tree``,
                            SPECTRE's ``random_tree``)
``grid``             100    ``grid_2d_graph(i, j)`` for i, j in 10..19: 100–361 nodes (GraphRNN,
                            GRAN)
===================  =====  ================================================================

Splits follow SPECTRE / DiGress: ``test = round(0.2 n)``, ``train = round(0.8 (n - test))``, the
rest validation, over a permutation drawn with seed 1234: 128/32/40 for 200 graphs, 64/16/20 for
100. Users' files (:mod:`polydit.graph.io`) get the same split rule; ``split="all"`` returns
every graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from polydit.core.errors import DataError
from polydit.graph.io import check_graph, read_graphs

BUILTINS = ("planar", "sbm", "community-small", "tree", "grid")
SPLITS = ("train", "val", "test", "all")
DATA_SEED = 0  # seeds every built-in generator
SPLIT_SEED = 1234  # SPECTRE's random_split seed


@dataclass(frozen=True)
class GraphSet:
    """Graphs with nodes ``0..n-1`` and, optionally, a categorical attribute per node / edge.

    ``node_categories`` / ``edge_categories`` are the sorted distinct values (as strings) of
    ``node_attr`` / ``edge_attr`` over the whole dataset (all splits), so every split of one
    dataset shares them.
    """

    graphs: tuple[nx.Graph, ...]
    name: str
    split: str
    node_attr: str | None = None
    edge_attr: str | None = None
    node_categories: tuple[str, ...] = ()
    edge_categories: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> nx.Graph:
        return self.graphs[index]

    def __iter__(self) -> Iterator[nx.Graph]:
        return iter(self.graphs)

    def node_counts(self) -> np.ndarray:
        """Nodes per graph ``(N,)`` int64."""
        return np.array([g.number_of_nodes() for g in self.graphs], dtype=np.int64)

    def node_types(self, index: int) -> np.ndarray:
        """Category index of each node of graph `index` ``(n,)`` int64 (zeros without one)."""
        graph = self.graphs[index]
        if self.node_attr is None:
            return np.zeros(graph.number_of_nodes(), dtype=np.int64)
        lookup = {c: i for i, c in enumerate(self.node_categories)}
        return np.array([lookup[str(graph.nodes[v][self.node_attr])] for v in graph], np.int64)

    def edge_types(self, index: int) -> np.ndarray:
        """Dense edge state of graph `index` ``(n, n)`` int64: 0 no edge, ``1 + k`` an edge of
        category ``k`` (every edge is 1 without an edge attribute)."""
        graph = self.graphs[index]
        n = graph.number_of_nodes()
        out = np.zeros((n, n), dtype=np.int64)
        lookup = {c: i + 1 for i, c in enumerate(self.edge_categories)}
        for u, v, data in graph.edges(data=True):
            out[u, v] = out[v, u] = (
                1 if self.edge_attr is None else lookup[str(data[self.edge_attr])]
            )
        return out


def split_indices(count: int, split: str, seed: int = SPLIT_SEED) -> np.ndarray:
    """Sorted indices of `split` among `count` graphs (SPECTRE's rule; "all" = every index)."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {'|'.join(SPLITS)}, got {split!r}")
    if split == "all":
        return np.arange(count)
    test = round(0.2 * count)
    train = round(0.8 * (count - test))
    order = np.random.default_rng(seed).permutation(count)
    parts = {
        "train": order[:train],
        "val": order[train : count - test],
        "test": order[count - test :],
    }
    return np.sort(parts[split])


def planar_graphs(count: int = 200, nodes: int = 64, seed: int = DATA_SEED) -> list[nx.Graph]:
    """Delaunay triangulations of `nodes` uniform points in the unit square (SPECTRE)."""
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(count):
        triangles = Delaunay(rng.random((nodes, 2))).simplices  # (T, 3)
        graph = nx.Graph()
        graph.add_nodes_from(range(nodes))
        for a, b, c in triangles.tolist():
            graph.add_edges_from([(a, b), (b, c), (a, c)])
        graphs.append(graph)
    return graphs


def sbm_graphs(
    count: int = 200,
    blocks: tuple[int, int] = (2, 5),
    block_size: tuple[int, int] = (20, 40),
    p_intra: float = 0.3,
    p_inter: float = 0.005,
    seed: int = DATA_SEED,
) -> list[nx.Graph]:
    """Stochastic block models with a uniform number of blocks and uniform block sizes
    (inclusive ranges; SPECTRE's recipe). Node attribute ``block`` is the true community."""
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(count):
        k = int(rng.integers(blocks[0], blocks[1] + 1))
        sizes = rng.integers(block_size[0], block_size[1] + 1, size=k).tolist()
        probs = np.full((k, k), p_inter)
        np.fill_diagonal(probs, p_intra)
        graph = nx.stochastic_block_model(sizes, probs.tolist(), seed=int(rng.integers(2**31)))
        graphs.append(_plain(graph, keep_node_attrs=("block",)))
    return graphs


def community_small_graphs(
    count: int = 100,
    nodes: tuple[int, int] = (12, 20),
    p_intra: float = 0.7,
    p_inter: float = 0.05,
    seed: int = DATA_SEED,
) -> list[nx.Graph]:
    """Two-community graphs (GDSS / SPECTRE ``n_community`` with 2 communities).

    n is uniform in the inclusive range `nodes`; each community has ``n // 2`` nodes and is
    ``gnp(n // 2, p_intra, seed=c)`` for community c = 0, 1 exactly as in the reference code.
    Every pair of connected components gets each cross edge with probability
    ``p_inter · 2 / ((components - 1) · (n // 2))``, and one edge between their first nodes if
    none was drawn. Node attribute ``block`` is the community.
    """
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(count):
        size = int(rng.integers(nodes[0], nodes[1] + 1)) // 2
        parts = [nx.gnp_random_graph(size, p_intra, seed=c) for c in range(2)]
        graph = nx.disjoint_union_all(parts)
        for c in range(2):
            for v in range(c * size, (c + 1) * size):
                graph.nodes[v]["block"] = c
        p_bridge = p_inter * 2 / ((2 - 1) * size)
        components = [sorted(c) for c in nx.connected_components(graph)]
        for i, first in enumerate(components):
            for second in components[i + 1 :]:
                draws = rng.random((len(first), len(second))) < p_bridge  # (|first|, |second|)
                rows, cols = np.nonzero(draws)
                graph.add_edges_from((first[r], second[c]) for r, c in zip(rows, cols, strict=True))
                if rows.size == 0:
                    graph.add_edge(first[0], second[0])
        graphs.append(graph)
    return graphs


def tree_graphs(count: int = 200, nodes: int = 64, seed: int = DATA_SEED) -> list[nx.Graph]:
    """Uniform random labelled trees (Prüfer sequences) on `nodes` nodes."""
    rng = np.random.default_rng(seed)
    return [
        _plain(nx.random_labeled_tree(nodes, seed=int(rng.integers(2**31)))) for _ in range(count)
    ]


def grid_graphs(sides: tuple[int, int] = (10, 19)) -> list[nx.Graph]:
    """``grid_2d_graph(i, j)`` for i, j in the inclusive range `sides`, nodes row-major."""
    lo, hi = sides
    return [
        nx.convert_node_labels_to_integers(nx.grid_2d_graph(i, j), ordering="sorted")
        for i in range(lo, hi + 1)
        for j in range(lo, hi + 1)
    ]


GENERATORS = {
    "planar": planar_graphs,
    "sbm": sbm_graphs,
    "community-small": community_small_graphs,
    "tree": tree_graphs,
    "grid": grid_graphs,
}


@lru_cache(maxsize=len(BUILTINS))
def _builtin(name: str) -> tuple[nx.Graph, ...]:
    return tuple(GENERATORS[name]())


def load_builtin(name: str, split: str = "train", max_nodes: int | None = None) -> GraphSet:
    """A built-in dataset's `split` (fresh copies of cached graphs)."""
    if name not in GENERATORS:
        raise DataError(
            f"unknown built-in dataset {name!r} (expected one of {', '.join(BUILTINS)})"
        )
    graphs = _builtin(name)
    chosen = [graphs[i].copy() for i in split_indices(len(graphs), split)]
    for i, graph in enumerate(chosen):
        check_graph(graph, f"{name}/{split}: graph {i}", max_nodes)
    return GraphSet(tuple(chosen), name, split)


def load_files(
    path: str | Path,
    split: str = "all",
    *,
    skip_bad: bool = False,
    max_nodes: int | None = None,
    node_attr: str | None = None,
    edge_attr: str | None = None,
) -> tuple[GraphSet, list[str]]:
    """Users' GraphML / GML / edge-list file or folder as a GraphSet, and the skipped messages.

    Nodes are relabelled ``0..n-1``: by numeric value when every name is an integer, else in
    file order. Categories are collected over every graph before splitting.
    """
    result = read_graphs(
        path, max_nodes=max_nodes, skip_bad=skip_bad, node_attr=node_attr, edge_attr=edge_attr
    )
    if not result.graphs:
        raise DataError(f"{path}: every graph was skipped ({len(result.skipped)} bad)")
    graphs = [_relabelled(g) for g in result.graphs]
    node_categories = _categories(
        (d[node_attr] for g in graphs for _, d in g.nodes(data=True)) if node_attr else ()
    )
    edge_categories = _categories(
        (d[edge_attr] for g in graphs for _, _, d in g.edges(data=True)) if edge_attr else ()
    )
    chosen = tuple(graphs[i] for i in split_indices(len(graphs), split))
    graph_set = GraphSet(
        chosen, str(path), split, node_attr, edge_attr, node_categories, edge_categories
    )
    return graph_set, result.skipped


def load_dataset(
    name_or_path: str | Path, split: str = "train", skip_bad: bool = False, **options: Any
) -> tuple[GraphSet, list[str]]:
    """A built-in set by name or users' files by path: (set, messages of skipped graphs).

    options: :func:`load_files`' ``max_nodes``, ``node_attr``, ``edge_attr`` (built-in sets
    take ``max_nodes`` only)."""
    if str(name_or_path) in GENERATORS:
        return load_builtin(str(name_or_path), split, options.get("max_nodes")), []
    if not Path(name_or_path).exists():
        raise DataError(
            f"data {str(name_or_path)!r} is neither a built-in dataset ({', '.join(BUILTINS)}) "
            "nor an existing file or folder"
        )
    return load_files(name_or_path, split, skip_bad=skip_bad, **options)


def dataset_statistics(graphs: Sequence[nx.Graph]) -> dict[str, float]:
    """Count, nodes (min / mean / max), mean edges, mean degree, fraction connected."""
    nodes = np.array([g.number_of_nodes() for g in graphs])
    edges = np.array([g.number_of_edges() for g in graphs])
    return {
        "graphs": len(graphs),
        "nodes_min": int(nodes.min()),
        "nodes_mean": float(nodes.mean()),
        "nodes_max": int(nodes.max()),
        "edges_mean": float(edges.mean()),
        "degree_mean": float((2 * edges / nodes).mean()),
        "connected": float(np.mean([nx.is_connected(g) for g in graphs])),
    }


def _plain(graph: nx.Graph, keep_node_attrs: tuple[str, ...] = ()) -> nx.Graph:
    """A copy with nodes ``0..n-1`` in `graph`'s order and only `keep_node_attrs`."""
    out = nx.Graph()
    index = {v: i for i, v in enumerate(graph)}
    for v, data in graph.nodes(data=True):
        out.add_node(index[v], **{k: data[k] for k in keep_node_attrs if k in data})
    out.add_edges_from((index[u], index[v]) for u, v in graph.edges())
    return out


def _relabelled(graph: nx.Graph) -> nx.Graph:
    """`graph` with nodes ``0..n-1``, ordered numerically if every name is an integer."""
    names = list(graph.nodes)
    try:
        order = sorted(names, key=int)
    except (TypeError, ValueError):
        order = names
    mapping = {name: i for i, name in enumerate(order)}
    out = nx.Graph()
    out.graph.update(graph.graph)
    out.add_nodes_from((mapping[v], graph.nodes[v]) for v in order)
    out.add_edges_from((mapping[u], mapping[v], d) for u, v, d in graph.edges(data=True))
    return out


def _categories(values) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values}))
