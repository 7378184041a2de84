"""`curves.png` beside a run's `metrics.jsonl`: the training curves, redrawn as the run goes.

Three panels over the optimizer step: the loss and the loss function's other scalars (log
scale when every value is positive), the gradient norm before clipping, and the learning rate.
Matplotlib's object API draws it (no pyplot, no global backend); the PNG is replaced
atomically, so a viewer never sees half a file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from polydit.core.atomic import atomic_write

#: metrics.jsonl keys that are bookkeeping, not curves of the loss panel
NOT_LOSS = ("step", "grad_norm", "lr", "steps_per_s", "elapsed_s")


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The records of a metrics.jsonl (a line cut short by a crash is skipped)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "step" in record:
            records.append(record)
    return records


def write_curves(metrics: Path, png: Path, title: str = "") -> Path | None:
    """Draw the curves of `metrics` (a metrics.jsonl) into `png`; None when it has no record."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = read_metrics(metrics)
    if not records:
        return None
    steps = [r["step"] for r in records]
    keys = [k for k in records[-1] if k not in NOT_LOSS]
    figure = Figure(figsize=(9, 3), dpi=100, layout="constrained")
    loss, grad, lr = figure.subplots(1, 3)
    for key in keys:
        values = [r.get(key, float("nan")) for r in records]
        loss.plot(steps, values, label=key, linewidth=1.2)
    if all(r.get(k, 1.0) > 0 for r in records for k in keys):
        loss.set_yscale("log")
    loss.legend(fontsize=7)
    for axis, key in ((grad, "grad_norm"), (lr, "lr")):
        axis.plot(steps, [r.get(key, float("nan")) for r in records], linewidth=1.2)
        axis.set_title(key, fontsize=9)
    loss.set_title(title or "loss", fontsize=9)
    for axis in (loss, grad, lr):
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return atomic_write(png, lambda f: f.write(buffer.getvalue()))
