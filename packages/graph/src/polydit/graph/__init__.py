"""polydit-graph: graph generation with a DiT — one-shot discrete diffusion (DiGress-style) and
PARD's block-wise autoregressive diffusion — on the SPECTRE / GraphRNN benchmark sets, users'
graph files and the anchors' metrics.

``from polydit.graph import GraphGenerator; GraphGenerator.from_pretrained("community-small")
.sample(8, seed=0)`` → ``list[networkx.Graph]``. Importing this package pulls networkx and
numpy only; torch loads with :class:`GraphGenerator` (and :mod:`polydit.graph.metrics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes
from polydit.graph.data import BUILTINS, GraphSet, load_dataset
from polydit.graph.io import read_graphs, write_graphs

if TYPE_CHECKING:
    from polydit.graph.pipeline import GraphGenerator

__all__ = ["BUILTINS", "GraphGenerator", "GraphSet", "load_dataset", "read_graphs", "write_graphs"]


__getattr__ = lazy_attributes(__name__, {"GraphGenerator": "pipeline"})
