from pathlib import Path

import networkx as nx
import pytest

from polydit.core.errors import DataError
from polydit.graph.data import load_dataset, load_files
from polydit.graph.io import read_graphs, write_edgelist, write_gml, write_graphml, write_graphs


def _typed_graphs() -> list[nx.Graph]:
    graphs = []
    for seed in range(3):
        graph = nx.gnp_random_graph(8 + seed, 0.4, seed=seed)
        graph.add_node(graph.number_of_nodes())  # an isolated node
        for v in graph:
            graph.nodes[v]["kind"] = "ab"[v % 2]
        for u, v in graph.edges:
            graph.edges[u, v]["bond"] = (u + v) % 3
        graphs.append(graph)
    return graphs


def _same(a: nx.Graph, b: nx.Graph) -> bool:
    return list(a.nodes) == list(b.nodes) and {frozenset(e) for e in a.edges} == {
        frozenset(e) for e in b.edges
    }


@pytest.mark.parametrize("suffix", [".graphml", ".edgelist"])
def test_many_graphs_in_one_file_round_trip(tmp_path: Path, suffix: str) -> None:
    graphs = _typed_graphs()
    path = tmp_path / f"set{suffix}"
    if suffix == ".graphml":
        write_graphml(path, graphs)
        edge_attr = "bond"
    else:
        write_edgelist(path, graphs, edge_attr="bond")
        edge_attr = "label"
    loaded, skipped = load_files(path, edge_attr=edge_attr)
    assert not skipped and len(loaded) == 3
    for original, read in zip(graphs, loaded, strict=True):
        assert _same(original, read)
        for u, v in original.edges:
            assert str(read.edges[u, v][edge_attr]) == str(original.edges[u, v]["bond"])
    assert loaded.edge_categories == ("0", "1", "2")


def test_folder_of_gml_and_graphml_keeps_node_attributes(tmp_path: Path) -> None:
    graphs = _typed_graphs()
    for i, graph in enumerate(graphs):
        write_graphs(tmp_path / f"g{i}.{'gml' if i % 2 else 'graphml'}", graph)
    loaded, _ = load_dataset(tmp_path, "all", node_attr="kind")
    assert loaded.node_categories == ("a", "b")
    for original, read in zip(graphs, loaded, strict=True):
        assert _same(original, read)
        assert loaded.node_types(graphs.index(original)).tolist() == [v % 2 for v in original]


def test_builtin_written_and_read_back(tmp_path: Path) -> None:
    test_set, _ = load_dataset("planar", "test")
    write_graphml(tmp_path / "planar.graphml", test_set.graphs)
    write_edgelist(tmp_path / "planar.edgelist", test_set.graphs)
    for name in ("planar.graphml", "planar.edgelist"):
        loaded, _ = load_files(tmp_path / name)
        assert all(_same(a, b) for a, b in zip(test_set, loaded, strict=True))


def test_plain_networkx_edgelist_is_one_graph(tmp_path: Path) -> None:
    path = tmp_path / "karate.edgelist"
    nx.write_edgelist(nx.karate_club_graph(), path)  # lines like "0 1 {'weight': 4}"
    (graph,) = read_graphs(path).graphs
    assert graph.number_of_nodes() == 34 and graph.number_of_edges() == 78
    assert graph.edges["0", "1"]["weight"] == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 1\n1 1\n", r"bad\.edgelist: line 2: self-loop"),
        ("0 1\n1 2\n# note\n1 0\n", r"bad\.edgelist: line 4: edge 1 0 repeats line 1"),
        ("0 1 a b\n", r"bad\.edgelist: line 1: expected `u v \[label\]`"),
        ("0 1 {'x': \n", r"bad\.edgelist: line 1: expected an attribute dict"),
        ("# graph\n0 1\n# graph\n", r"bad\.edgelist: graph at line 3: an empty graph"),
        ("# only a comment\n", r"bad\.edgelist: an empty edge list"),
    ],
)
def test_bad_edge_lists_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.edgelist"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_graphs(path)


def test_bad_graphml_and_gml_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.graphml"
    broken.write_text('<?xml version="1.0"?>\n<graphml>\n<graph>\n<node id="a">\n</graphml>\n')
    with pytest.raises(DataError, match=r"broken\.graphml: line 5: malformed GraphML"):
        read_graphs(broken)
    multi = nx.MultiGraph([(0, 1), (0, 1)])
    nx.write_graphml(multi, tmp_path / "multi.graphml")
    with pytest.raises(DataError, match=r"multi\.graphml: multi-edge"):
        read_graphs(tmp_path / "multi.graphml")
    directed = tmp_path / "directed.graphml"
    nx.write_graphml(nx.DiGraph([(0, 1)]), directed)
    with pytest.raises(DataError, match=r"directed\.graphml: a directed graph"):
        read_graphs(directed)
    loop = tmp_path / "loop.gml"
    write_gml(loop, nx.Graph([(0, 1), (1, 1)]))
    with pytest.raises(DataError, match=r"loop\.gml: self-loop at node '1'"):
        read_graphs(loop)
    garbage = tmp_path / "garbage.gml"
    garbage.write_text("graph [ node [ id 0 ] edge [ source 0 \n")
    with pytest.raises(DataError, match=r"garbage\.gml: malformed GML"):
        read_graphs(garbage)


def test_skip_bad_returns_messages_and_keeps_the_good(tmp_path: Path) -> None:
    write_edgelist(tmp_path / "a.edgelist", [nx.path_graph(5), nx.path_graph(30)])
    (tmp_path / "b.edgelist").write_text("0 0\n")
    (tmp_path / "notes.csv").write_text("x\n")
    with pytest.raises(DataError, match=r"a\.edgelist: graph at line \d+: 30 nodes, more than"):
        read_graphs(tmp_path, max_nodes=20)
    result = read_graphs(tmp_path, max_nodes=20, skip_bad=True)
    assert len(result.graphs) == 1 and len(result.skipped) == 3
    assert any("notes.csv: not a graph file" in m for m in result.skipped)
    assert any("b.edgelist: line 1: self-loop" in m for m in result.skipped)


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    write_graphs(tmp_path / "one.gml", nx.path_graph(3))
    with pytest.raises(DataError, match="holds one graph"):
        write_graphs(tmp_path / "two.gml", [nx.path_graph(3), nx.path_graph(4)])
    with pytest.raises(DataError, match="cannot be written to an edge list"):
        write_edgelist(tmp_path / "x.edgelist", nx.Graph([("a b", "c")]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.gml"]
