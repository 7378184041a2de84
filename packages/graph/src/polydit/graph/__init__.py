"""polydit-graph: graph generation benchmarks — the SPECTRE / GraphRNN data sets, graph files and
the anchors' metrics. The generative models are still to come.

Importing this package pulls networkx and numpy only; :mod:`polydit.graph.metrics` (MMD) brings
in torch through the core metrics.
"""

from __future__ import annotations

from polydit.graph.data import BUILTINS, GraphSet, load_dataset
from polydit.graph.io import read_graphs, write_graphs

__all__ = ["BUILTINS", "GraphSet", "load_dataset", "read_graphs", "write_graphs"]
