"""Graph files: GraphML, GML and edge lists, read strictly and written atomically.

polydit-graph models simple undirected graphs, so every graph read is checked: a malformed file,
a directed graph, a self-loop, a repeated edge (multi-edge), a graph without nodes or one with
more than ``max_nodes`` nodes raises :class:`~polydit.core.errors.DataError` naming the file (and
the line, for edge lists and XML syntax errors). With ``skip_bad=True`` such a graph (or an
unreadable file) is skipped instead and its message returned.

Formats (chosen by suffix):

* ``.graphml`` — one or more ``<graph>`` elements per file (networkx's reader; node ids are
  strings; data keys become node/edge attributes).
* ``.gml`` — one graph per file (networkx's parser); a node's unique ``label`` becomes its name.
* ``.edgelist`` / ``.edges`` / ``.txt`` — one edge ``u v`` per line, optionally followed by a
  categorical edge label (stored as the edge attribute ``label``) or a networkx-style attribute
  dict ``{'bond': 2}``; a line with a single token is an isolated node; ``#`` starts a comment.
  A line ``# graph`` (optionally ``# graph NAME``) starts a new graph, so one file can hold many
  graphs; without such lines the file is one graph (plain networkx ``write_edgelist`` output).

Node names are kept as read (strings); :func:`polydit.graph.data.load_dataset` relabels them.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError

FORMATS = {
    ".graphml": "graphml",
    ".gml": "gml",
    ".edgelist": "edgelist",
    ".edges": "edgelist",
    ".txt": "edgelist",
}
GRAPH_HEADER = "graph"  # `# graph [name]` starts a graph in an edge list
EDGE_LABEL = "label"  # attribute that holds an edge list's third column


@dataclass
class ReadResult:
    """Graphs read from a file or folder, and the messages of what ``skip_bad`` skipped."""

    graphs: list[nx.Graph] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def graph_format(path: str | Path) -> str:
    """``graphml`` | ``gml`` | ``edgelist`` from `path`'s suffix, or DataError."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: not a graph file (expected a suffix among {', '.join(FORMATS)})")
    return fmt


def read_graphs(
    path: str | Path,
    *,
    max_nodes: int | None = None,
    skip_bad: bool = False,
    node_attr: str | None = None,
    edge_attr: str | None = None,
) -> ReadResult:
    """Every graph in a file or in the graph files of a folder (sorted by name, not recursive).

    Each graph is checked by :func:`check_graph`; `node_attr` / `edge_attr` name attributes that
    every node / edge must carry. Errors raise DataError unless `skip_bad`.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such file or folder")
    result = ReadResult()
    for file in files:
        try:
            parsed = _parse(file)
        except DataError as e:
            if not skip_bad:
                raise
            result.skipped.append(str(e))
            continue
        for where, graph in parsed:
            try:
                check_graph(graph, where, max_nodes, node_attr, edge_attr)
            except DataError as e:
                if not skip_bad:
                    raise
                result.skipped.append(str(e))
                continue
            result.graphs.append(graph)
    if not result.graphs and not result.skipped:
        raise DataError(f"{path}: no graphs found")
    return result


def check_graph(
    graph: nx.Graph,
    where: str,
    max_nodes: int | None = None,
    node_attr: str | None = None,
    edge_attr: str | None = None,
) -> None:
    """DataError naming `where` unless `graph` is a non-empty simple undirected graph with at
    most `max_nodes` nodes whose nodes (edges) all carry `node_attr` (`edge_attr`)."""
    if graph.is_directed():
        raise DataError(f"{where}: a directed graph (polydit-graph reads undirected graphs)")
    if graph.is_multigraph():
        u, v = _repeated_edge(graph)
        raise DataError(f"{where}: multi-edge {u!r}–{v!r} (expected at most one edge per pair)")
    if graph.number_of_nodes() == 0:
        raise DataError(f"{where}: an empty graph (no nodes)")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise DataError(f"{where}: self-loop at node {loops[0][0]!r} (not supported)")
    if max_nodes is not None and graph.number_of_nodes() > max_nodes:
        raise DataError(
            f"{where}: {graph.number_of_nodes()} nodes, more than max_nodes = {max_nodes}"
        )
    if node_attr is not None:
        for node, data in graph.nodes(data=True):
            if node_attr not in data:
                raise DataError(f"{where}: node {node!r} has no attribute {node_attr!r}")
    if edge_attr is not None:
        for u, v, data in graph.edges(data=True):
            if edge_attr not in data:
                raise DataError(f"{where}: edge {u!r}–{v!r} has no attribute {edge_attr!r}")


def _repeated_edge(graph: nx.MultiGraph) -> tuple[object, object]:
    for u, v in graph.edges():
        if graph.number_of_edges(u, v) > 1:
            return u, v
    raise AssertionError("a multigraph without repeated edges is converted before checking")


def _parse(file: Path) -> list[tuple[str, nx.Graph]]:
    """(where, graph) for every graph in `file`; DataError if the file is unreadable."""
    fmt = graph_format(file)
    if fmt == "graphml":
        return _parse_graphml(file)
    if fmt == "gml":
        return [(str(file), _parse_gml(file))]
    return _parse_edgelist(file)


def _parse_graphml(file: Path) -> list[tuple[str, nx.Graph]]:
    reader = nx.readwrite.graphml.GraphMLReader(node_type=str)
    try:
        graphs = list(reader(path=str(file)))
    except ET.ParseError as e:
        line, column = e.position
        raise DataError(f"{file}: line {line}: malformed GraphML (column {column})") from None
    except (nx.NetworkXError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{file}: malformed GraphML ({e})") from None
    if not graphs:
        raise DataError(f"{file}: no <graph> element in the GraphML file")
    named = []
    for i, graph in enumerate(graphs):
        graph.graph.pop("node_default", None)
        graph.graph.pop("edge_default", None)
        if graph.is_multigraph() and _simple_edge_count(graph) == graph.number_of_edges():
            graph = nx.DiGraph(graph) if graph.is_directed() else nx.Graph(graph)
        named.append((f"{file}: graph {i}" if len(graphs) > 1 else str(file), graph))
    return named


def _simple_edge_count(graph: nx.Graph) -> int:
    return sum(1 for _ in (nx.DiGraph(graph) if graph.is_directed() else nx.Graph(graph)).edges)


def _parse_gml(file: Path) -> nx.Graph:
    try:
        graph = nx.read_gml(file, label=None)
    except (nx.NetworkXError, ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: malformed GML ({e})") from None
    labels = [data.get("label") for _, data in graph.nodes(data=True)]
    if all(isinstance(x, str) for x in labels) and len(set(labels)) == len(labels):
        graph = nx.relabel_nodes(graph, dict(zip(graph.nodes, labels, strict=True)))
        for _, data in graph.nodes(data=True):
            del data["label"]
    return graph


def _parse_edgelist(file: Path) -> list[tuple[str, nx.Graph]]:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: unreadable edge list ({e})") from None
    graphs: list[_EdgeListGraph] = []
    current: _EdgeListGraph | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if text.startswith("#"):
            words = text[1:].split(maxsplit=1)
            if words and words[0] == GRAPH_HEADER:
                current = _EdgeListGraph(file, number)
                graphs.append(current)
            continue
        if not text:
            continue
        if current is None:
            current = _EdgeListGraph(file, 1)
            graphs.append(current)
        current.add_line(text, number)
    if not graphs:
        raise DataError(f"{file}: an empty edge list (no edges, nodes or `# graph` lines)")
    return [(g.where(len(graphs) > 1), g.graph) for g in graphs]


class _EdgeListGraph:
    """One graph of an edge-list file, built line by line; errors name file and line."""

    def __init__(self, file: Path, start: int) -> None:
        self.file, self.start = file, start
        self.graph = nx.Graph()
        self.edge_lines: dict[frozenset[str], int] = {}

    def where(self, many: bool) -> str:
        return f"{self.file}: graph at line {self.start}" if many else str(self.file)

    def add_line(self, text: str, number: int) -> None:
        fields = text.split(maxsplit=2)
        if len(fields) == 1:
            self.graph.add_node(fields[0])
            return
        u, v = fields[0], fields[1]
        data = self._edge_data(fields[2], number) if len(fields) == 3 else {}
        if u == v:
            raise DataError(f"{self.file}: line {number}: self-loop {u} {v} (not supported)")
        key = frozenset((u, v))
        if key in self.edge_lines:
            raise DataError(
                f"{self.file}: line {number}: edge {u} {v} repeats line {self.edge_lines[key]} "
                "(multi-edges are not supported)"
            )
        self.edge_lines[key] = number
        self.graph.add_edge(u, v, **data)

    def _edge_data(self, rest: str, number: int) -> dict[str, object]:
        if not rest.startswith("{"):
            if len(rest.split()) > 1:
                raise DataError(
                    f"{self.file}: line {number}: expected `u v [label]`, got {rest!r} after "
                    "the two nodes"
                )
            return {EDGE_LABEL: rest}
        try:
            data = ast.literal_eval(rest)
        except (ValueError, SyntaxError):
            data = None
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise DataError(
                f"{self.file}: line {number}: expected an attribute dict like {{'label': 1}}, "
                f"got {rest!r}"
            )
        return data


def write_graphml(path: str | Path, graphs: nx.Graph | Iterable[nx.Graph]) -> Path:
    """Write one graph or several (one ``<graph>`` each) to one GraphML file, atomically."""
    writer = nx.readwrite.graphml.GraphMLWriter(encoding="utf-8", prettyprint=True)
    writer.add_graphs(_as_list(graphs))
    return atomic_write_text(path, str(writer))


def write_gml(path: str | Path, graph: nx.Graph) -> Path:
    """Write one graph to a GML file, atomically (node names become labels)."""
    return atomic_write_text(path, "\n".join(nx.generate_gml(graph)) + "\n")


def write_edgelist(
    path: str | Path, graphs: nx.Graph | Iterable[nx.Graph], edge_attr: str | None = None
) -> Path:
    """Write graphs to one edge-list file, each after a ``# graph i`` line, atomically.

    Isolated nodes get a line of their own; with `edge_attr` each edge line ends with that
    attribute's value (read back as the attribute ``label``). Node names and labels must not
    contain whitespace.
    """
    lines = []
    for i, graph in enumerate(_as_list(graphs)):
        lines.append(f"# {GRAPH_HEADER} {i}")
        lines.extend(_token(node, path) for node in graph.nodes if graph.degree(node) == 0)
        for u, v, data in graph.edges(data=True):
            line = f"{_token(u, path)} {_token(v, path)}"
            if edge_attr is not None:
                line += f" {_token(data[edge_attr], path)}"
            lines.append(line)
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_graphs(path: str | Path, graphs: nx.Graph | Sequence[nx.Graph]) -> Path:
    """Write `graphs` in the format of `path`'s suffix (GML holds exactly one graph)."""
    fmt = graph_format(path)
    if fmt == "graphml":
        return write_graphml(path, graphs)
    if fmt == "edgelist":
        return write_edgelist(path, graphs)
    listed = _as_list(graphs)
    if len(listed) != 1:
        raise DataError(f"{path}: a GML file holds one graph, got {len(listed)}")
    return write_gml(path, listed[0])


def _as_list(graphs: nx.Graph | Iterable[nx.Graph]) -> list[nx.Graph]:
    return [graphs] if isinstance(graphs, nx.Graph) else list(graphs)


def _token(value: object, path: str | Path) -> str:
    text = str(value)
    if not text or any(c.isspace() for c in text) or text.startswith(("#", "{")):
        raise DataError(
            f"{path}: {text!r} cannot be written to an edge list (empty, whitespace, or a "
            "leading # or {); use GraphML"
        )
    return text
