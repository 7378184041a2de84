"""`draw_grid`: a PNG of graphs drawn side by side (spring layouts, seeded, so a graph always
looks the same)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from polydit.core.atomic import atomic_write

CELL = 220  # pixels per graph
MARGIN = 14
NODE_RADIUS = 3


def draw_grid(path: str | Path, graphs: Sequence[nx.Graph], columns: int = 8) -> Path:
    """Write `graphs` as a grid of `columns` spring-layout drawings to `path` (PNG, atomic)."""
    from PIL import Image, ImageDraw

    columns = max(1, min(columns, len(graphs)))
    rows = max(1, math.ceil(len(graphs) / columns))
    image = Image.new("RGB", (columns * CELL, rows * CELL), "white")
    pen = ImageDraw.Draw(image)
    for i, graph in enumerate(graphs):
        ox, oy = (i % columns) * CELL, (i // columns) * CELL
        pen.rectangle([ox, oy, ox + CELL - 1, oy + CELL - 1], outline=(220, 220, 220))
        if graph.number_of_nodes() == 0:
            continue
        layout = nx.spring_layout(graph, seed=0)
        x0 = min(p[0] for p in layout.values())
        y0 = min(p[1] for p in layout.values())
        span = max(max(p[0] - x0 for p in layout.values()), max(p[1] - y0 for p in layout.values()))
        scale = (CELL - 2 * MARGIN) / max(span, 1e-9)
        at = {
            v: (ox + MARGIN + (x - x0) * scale, oy + MARGIN + (y - y0) * scale)
            for v, (x, y) in layout.items()
        }
        for u, v in graph.edges():
            pen.line([at[u], at[v]], fill=(90, 110, 160), width=1)
        r = NODE_RADIUS
        for x, y in at.values():
            pen.ellipse([x - r, y - r, x + r, y + r], fill=(200, 60, 40))
    return atomic_write(path, lambda f: image.save(f, format="PNG"))
