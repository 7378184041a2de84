"""eval --report: the distributions the MMDs compare, and the graphs drawn."""

from __future__ import annotations

import networkx as nx
import numpy as np
from PIL import Image

from polydit.graph.data import load_dataset
from polydit.graph.report import statistics, write_report


def test_statistics_pool_nodes_degrees_and_clustering() -> None:
    stats = statistics([nx.complete_graph(3), nx.path_graph(4)])
    assert stats["nodes per graph"].tolist() == [3, 4]
    assert sorted(stats["degree"].tolist()) == [1, 1, 2, 2, 2, 2, 2]
    assert np.allclose(sorted(stats["clustering coefficient"]), [0, 0, 0, 0, 1, 1, 1])


def test_the_report_is_two_pngs(tmp_path) -> None:
    test, _ = load_dataset("community-small", "test")
    generated = [nx.gnp_random_graph(15, 0.3, seed=i) for i in range(20)]
    report, drawn = write_report(tmp_path, generated, test.graphs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graphs.png", "report.png"]
    assert Image.open(report).size == (1000, 300)
    assert Image.open(drawn).size == (8 * 220, 3 * 220)  # 16 generated + 8 test graphs
