import networkx as nx
import pytest

from polydit.core.errors import ConfigError
from polydit.graph.blockmodel import fit_block_model, is_sbm_graph
from polydit.graph.data import load_dataset, sbm_graphs
from polydit.graph.uniqueness import fraction_novel, fraction_unique, unique_novel_valid
from polydit.graph.validity import is_grid_graph, is_planar_graph, is_tree_graph, validity_check


def test_planar_tree_and_grid_checks_accept_their_data_and_reject_negatives() -> None:
    planar, _ = load_dataset("planar", "test")
    assert all(is_planar_graph(g) for g in planar)
    assert not is_planar_graph(nx.complete_graph(5))
    assert not is_planar_graph(nx.disjoint_union(nx.path_graph(3), nx.path_graph(3)))
    assert not is_planar_graph(nx.Graph())
    trees, _ = load_dataset("tree", "test")
    assert all(is_tree_graph(g) for g in trees)
    assert not is_tree_graph(nx.cycle_graph(64)) and not is_tree_graph(nx.Graph())
    assert is_grid_graph(nx.grid_2d_graph(12, 15)) and is_grid_graph(nx.grid_2d_graph(2, 2))
    broken = nx.grid_2d_graph(12, 15)
    broken.remove_edge((0, 0), (0, 1))
    broken.add_edge((0, 0), (1, 1))
    assert not is_grid_graph(broken) and not is_grid_graph(nx.path_graph(180))
    assert validity_check("community-small") is None


def test_approximate_sbm_check_recovers_blocks_and_rejects_negatives() -> None:
    graphs = sbm_graphs(count=6, seed=1)
    for graph in graphs:
        fit = fit_block_model(graph)
        truth = [graph.nodes[v]["block"] for v in graph]
        assert fit.num_blocks == len(set(truth))
        assert len(set(zip(fit.labels.tolist(), truth, strict=True))) == fit.num_blocks
    assert sum(is_sbm_graph(g) for g in graphs) >= 5  # ~92 % of true SBM graphs pass
    density = nx.density(graphs[0])
    assert not is_sbm_graph(nx.gnp_random_graph(graphs[0].number_of_nodes(), density, seed=0))
    assert not is_sbm_graph(nx.disjoint_union_all([nx.complete_graph(25)] * 3))  # p_intra 1
    assert not is_sbm_graph(nx.Graph())


def test_uniqueness_novelty_and_vun_count_isomorphism_classes() -> None:
    train = [nx.cycle_graph(6), nx.path_graph(6)]
    relabelled_cycle = nx.relabel_nodes(nx.cycle_graph(6), {i: (i * 5) % 6 for i in range(6)})
    star, star_again = nx.star_graph(5), nx.relabel_nodes(nx.star_graph(5), lambda v: 5 - v)
    generated = [relabelled_cycle, star, star_again, nx.complete_graph(6)]
    assert fraction_unique(generated) == 0.75
    assert fraction_novel(generated, train) == 0.75
    scores = unique_novel_valid(generated, train, is_tree_graph)
    assert scores.valid == 0.5  # the two stars
    assert scores.unique == 0.75 and scores.novel == 0.75 and scores.unique_novel == 0.5
    assert scores.vun == 0.25  # the first star only
    plain = unique_novel_valid(generated, train)
    assert plain.vun is None and plain.valid is None
    with pytest.raises(ConfigError):
        unique_novel_valid([], train)


def test_planar_test_set_is_valid_unique_and_novel() -> None:
    train, _ = load_dataset("planar", "train")
    test, _ = load_dataset("planar", "test")
    assert unique_novel_valid(test.graphs, train.graphs, is_planar_graph).vun == 1.0
