"""`polydit-graph eval --report DIR`: ``report.png`` (the distributions the MMDs compare,
generated vs test: node count, degree, clustering coefficient) and ``graphs.png`` (the first
16 generated graphs drawn, with the first 8 test graphs below them for comparison)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np

from polydit.core.atomic import atomic_write
from polydit.graph.draw import draw_grid

REPORT, GRAPHS = "report.png", "graphs.png"


def statistics(graphs: Sequence[nx.Graph]) -> dict[str, np.ndarray]:
    """Pooled per-graph and per-node statistics: nodes (per graph), degree and clustering (per
    node)."""
    return {
        "nodes per graph": np.array([g.number_of_nodes() for g in graphs], dtype=float),
        "degree": np.array([d for g in graphs for _, d in g.degree()], dtype=float),
        "clustering coefficient": np.array(
            [c for g in graphs for c in nx.clustering(g).values()], dtype=float
        ),
    }


def write_report(out: Path, generated: Sequence[nx.Graph], test: Sequence[nx.Graph]) -> list[Path]:
    """Draw `out`/report.png and `out`/graphs.png; returns both paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ours, theirs = statistics(generated), statistics(test)
    figure = Figure(figsize=(10, 3), dpi=100, layout="constrained")
    for axis, name in zip(figure.subplots(1, 3), ours, strict=True):
        values = np.concatenate([ours[name], theirs[name]])
        discrete = name != "clustering coefficient"
        lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
        bins = np.arange(lo - 0.5, hi + 1.5) if discrete else np.linspace(0, 1, 21)
        for label, data, style in (
            (f"generated ({len(generated)})", ours[name], {"alpha": 0.55}),
            (f"test ({len(test)})", theirs[name], {"histtype": "step", "linewidth": 1.8}),
        ):
            axis.hist(data, bins=bins, density=True, label=label, **style)
        axis.set_title(name, fontsize=9)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=7)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    report = atomic_write(out / REPORT, lambda f: f.write(buffer.getvalue()))
    drawn = draw_grid(out / GRAPHS, [*generated[:16], *test[:8]], columns=8)
    return [report, drawn]
