import networkx as nx
import numpy as np
import pytest

from polydit.core.errors import DataError
from polydit.graph.data import (
    BUILTINS,
    GraphSet,
    community_small_graphs,
    load_dataset,
    planar_graphs,
    sbm_graphs,
    split_indices,
    tree_graphs,
)

SIZES = {"planar": 200, "sbm": 200, "community-small": 100, "tree": 200, "grid": 100}


@pytest.mark.parametrize("name", BUILTINS)
def test_splits_have_spectre_sizes_are_disjoint_and_deterministic(name: str) -> None:
    count = SIZES[name]
    parts = {s: split_indices(count, s) for s in ("train", "val", "test")}
    expected = (128, 32, 40) if count == 200 else (64, 16, 20)
    assert tuple(len(p) for p in parts.values()) == expected
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(count))
    first, _ = load_dataset(name, "test")
    again, _ = load_dataset(name, "test")
    assert len(first) == expected[2]
    for a, b in zip(first, again, strict=True):
        assert list(a.nodes) == list(range(a.number_of_nodes()))
        assert list(a.edges) == list(b.edges)


def test_planar_graphs_are_planar_connected_with_64_nodes() -> None:
    graphs = planar_graphs(count=20)
    assert all(g.number_of_nodes() == 64 and nx.is_connected(g) for g in graphs)
    assert all(nx.check_planarity(g)[0] for g in graphs)
    edges = [g.number_of_edges() for g in graphs]
    assert all(150 <= e <= 3 * 64 - 6 for e in edges)  # triangulation of a convex hull: 3n-3-h


def test_trees_have_64_nodes() -> None:
    assert all(nx.is_tree(g) and g.number_of_nodes() == 64 for g in tree_graphs(count=20))


def test_sbm_blocks_follow_the_recipe() -> None:
    for graph in sbm_graphs(count=20):
        blocks = np.bincount([graph.nodes[v]["block"] for v in graph])
        assert 2 <= blocks.size <= 5 and blocks.min() >= 20 and blocks.max() <= 40
        same = [graph.nodes[u]["block"] == graph.nodes[v]["block"] for u, v in graph.edges]
        assert np.mean(same) > 0.9  # p_intra 0.3 vs p_inter 0.005


def test_community_small_sizes_and_two_communities() -> None:
    graphs = community_small_graphs()
    sizes = {g.number_of_nodes() for g in graphs}
    assert sizes <= {12, 14, 16, 18, 20} and len(sizes) == 5  # 2 · (n // 2), n in 12..20
    for graph in graphs:
        assert nx.is_connected(graph)
        blocks = [graph.nodes[v]["block"] for v in graph]
        assert blocks.count(0) == blocks.count(1)
        bridges = [
            e for e in graph.edges if graph.nodes[e[0]]["block"] != graph.nodes[e[1]]["block"]
        ]
        assert len(bridges) >= 1


def test_graph_set_categorical_types() -> None:
    graph = nx.Graph()
    graph.add_nodes_from([(0, {"atom": "C"}), (1, {"atom": "N"}), (2, {"atom": "C"})])
    graph.add_edges_from([(0, 1, {"bond": 2}), (1, 2, {"bond": 1})])
    graphs = GraphSet((graph,), "toy", "all", "atom", "bond", ("C", "N"), ("1", "2"))
    assert graphs.node_types(0).tolist() == [0, 1, 0]
    assert graphs.edge_types(0).tolist() == [[0, 2, 0], [2, 0, 1], [0, 1, 0]]
    assert graphs.node_counts().tolist() == [3]


def test_unknown_name_split_and_max_nodes_are_errors() -> None:
    with pytest.raises(DataError, match="neither a built-in"):
        load_dataset("no-such-set")
    with pytest.raises(DataError, match="split"):
        load_dataset("planar", "dev")
    with pytest.raises(DataError, match="max_nodes = 50"):
        load_dataset("planar", "test", max_nodes=50)
