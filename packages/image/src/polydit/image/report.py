"""`polydit-image eval --report DIR`: ``report.png``, what the digit metrics saw.

Left, the confusion matrix of the in-package classifier on the samples (rows: the class asked
for, columns: the class recognised, counts; the diagonal is the accuracy). Right, the first ten
samples of each class, one labelled row per class, as the PNGs store them (8-bit levels).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from polydit.core.atomic import atomic_write
from polydit.image.metrics import classify, quantize

REPORT = "report.png"
PER_ROW = 10


def confusion(labels: Tensor, predicted: Tensor, classes: int) -> np.ndarray:
    """(classes, classes) counts: [asked, recognised]."""
    counts = torch.zeros(classes, classes, dtype=torch.long)
    counts.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    return counts.numpy()


def write_report(out: Path, images: Tensor, labels: Tensor, class_names: tuple[str, ...]) -> Path:
    """Draw `out`/report.png for samples `images` (B, 1, H, W) in [-1, 1] asked for `labels`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = quantize(images)
    predicted, _ = classify(images)
    k = len(class_names)
    counts = confusion(labels, predicted, k)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    figure = Figure(figsize=(10, 4.6), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2)
    left.imshow(counts, cmap="Blues")
    for (i, j), n in np.ndenumerate(counts):
        if n:
            color = "white" if n > counts.max() / 2 else "black"
            left.text(j, i, str(n), ha="center", va="center", fontsize=7, color=color)
    left.set_xticks(range(k), class_names, fontsize=8)
    left.set_yticks(range(k), class_names, fontsize=8)
    left.set_xlabel("recognised by the classifier")
    left.set_ylabel("asked for")
    left.set_title(f"confusion matrix, {len(labels)} samples, accuracy {accuracy:.1%}", fontsize=9)
    right.imshow(sample_rows(images, labels, k), cmap="gray", vmin=-1, vmax=1)
    h = images.shape[-2] + 1
    right.set_yticks([i * h + h / 2 - 1 for i in range(k)], class_names, fontsize=8)
    right.set_xticks([])
    right.set_title(f"the first {PER_ROW} samples of each class", fontsize=9)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return atomic_write(out / REPORT, lambda f: f.write(buffer.getvalue()))


def sample_rows(images: Tensor, labels: Tensor, classes: int) -> np.ndarray:
    """One row of up to PER_ROW images per class, 1-pixel gaps: (classes·(H+1), PER_ROW·(W+1))."""
    h, w = images.shape[-2:]
    canvas = np.full((classes * (h + 1), PER_ROW * (w + 1)), -1.0, dtype=np.float32)
    for c in range(classes):
        for j, i in enumerate((labels == c).nonzero().flatten()[:PER_ROW].tolist()):
            canvas[c * (h + 1) : c * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = images[i, 0]
    return canvas
