import itertools

import networkx as nx
import numpy as np
import pytest

from polydit.graph.orbits import NON_INDUCED_PER_INDUCED, NUM_ORBITS, orbit_counts

# induced connected graphlet on 3 or 4 nodes → orbit of a node, by (edges, sorted degrees, degree)
ORBIT_OF = {
    (2, (1, 1, 2)): {1: 1, 2: 2},
    (3, (2, 2, 2)): {2: 3},
    (3, (1, 1, 2, 2)): {1: 4, 2: 5},
    (3, (1, 1, 1, 3)): {1: 6, 3: 7},
    (4, (2, 2, 2, 2)): {2: 8},
    (4, (1, 2, 2, 3)): {1: 9, 2: 10, 3: 11},
    (5, (2, 2, 3, 3)): {2: 12, 3: 13},
    (6, (3, 3, 3, 3)): {3: 14},
}


def brute_force_orbit_counts(graph: nx.Graph) -> np.ndarray:
    """Orbit counts by classifying the induced subgraph on every 3- and 4-node subset."""
    nodes = list(graph)
    index = {v: i for i, v in enumerate(nodes)}
    counts = np.zeros((len(nodes), NUM_ORBITS), dtype=np.int64)
    for v in nodes:
        counts[index[v], 0] = graph.degree(v)
    for size in (3, 4):
        for subset in itertools.combinations(nodes, size):
            sub = graph.subgraph(subset)
            if not nx.is_connected(sub):
                continue
            degrees = dict(sub.degree())
            orbits = ORBIT_OF[(sub.number_of_edges(), tuple(sorted(degrees.values())))]
            for v in subset:
                counts[index[v], orbits[degrees[v]]] += 1
    return counts


def test_orbit_counts_equal_brute_force_on_random_small_graphs() -> None:
    rng = np.random.default_rng(0)
    for seed in range(120):
        n, p = int(rng.integers(0, 11)), float(rng.random())
        graph = nx.gnp_random_graph(n, p, seed=seed)
        assert np.array_equal(orbit_counts(graph), brute_force_orbit_counts(graph)), (n, p, seed)


@pytest.mark.parametrize(
    ("graph", "orbit", "expected"),
    [
        (nx.complete_graph(4), 14, [1, 1, 1, 1]),
        (nx.cycle_graph(4), 8, [1, 1, 1, 1]),
        (nx.star_graph(3), 7, [1, 0, 0, 0]),
        (nx.path_graph(4), 5, [0, 1, 1, 0]),
        (nx.Graph([(0, 1), (1, 2), (0, 2), (2, 3)]), 9, [0, 0, 0, 1]),  # paw: 3 is the tail end
        (nx.Graph([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]), 13, [1, 1, 0, 0]),  # diamond
    ],
)
def test_orbit_numbering_is_orca_s(graph: nx.Graph, orbit: int, expected: list[int]) -> None:
    assert orbit_counts(graph)[:, orbit].tolist() == expected


def test_non_induced_matrix_is_unit_upper_triangular() -> None:
    assert np.array_equal(np.diag(NON_INDUCED_PER_INDUCED), np.ones(11))
    assert not np.tril(NON_INDUCED_PER_INDUCED, -1).any()


def test_orbit_counts_of_a_larger_graph_match_brute_force_and_ignore_labels() -> None:
    graph = nx.relabel_nodes(nx.gnp_random_graph(14, 0.4, seed=3), lambda v: f"n{v}")
    assert np.array_equal(orbit_counts(graph), brute_force_orbit_counts(graph))
