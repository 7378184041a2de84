"""PNG files: one image per file, and grids (rows of images), written atomically with Pillow.

Images are (C, H, W) float in [-1, 1] (C = 1 → 8-bit grayscale "L", C = 3 → "RGB"); the pixel
value is ``round((v + 1) · 127.5)``. PNG bytes are deterministic (no timestamps), so the same
samples give byte-identical files.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from polydit.core.atomic import atomic_write


def to_uint8(image: Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] → (H, W) or (H, W, 3) uint8."""
    levels = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    array = levels.numpy()
    return array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0))


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    """PNG encoding of a uint8 (H, W) or (H, W, 3) array, each pixel repeated `scale`×`scale`."""
    from PIL import Image

    if scale > 1:
        array = array.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | Path, image: Tensor, scale: int = 1) -> Path:
    """Write one image (C, H, W) in [-1, 1] as a PNG (atomically)."""
    data = png_bytes(to_uint8(image), scale)
    return atomic_write(path, lambda f: f.write(data))


def grid(images: Tensor, columns: int, padding: int = 1) -> Tensor:
    """(B, C, H, W) → one (C, rows·(H+pad)+pad, columns·(W+pad)+pad) image; padding is -1 (black),
    missing cells stay black."""
    b, c, h, w = images.shape
    rows = max(1, -(-b // columns))
    canvas = torch.full(
        (c, rows * (h + padding) + padding, columns * (w + padding) + padding), -1.0
    )
    for i in range(b):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        canvas[:, top : top + h, left : left + w] = images[i].float().cpu()
    return canvas


def save_grid(path: str | Path, images: Tensor, columns: int, scale: int = 4) -> Path:
    """Write `images` (B, C, H, W) as a grid PNG, magnified `scale`× (nearest) for viewing."""
    return save_png(path, grid(images, columns), scale)


def save_labelled_grid(
    path: str | Path, images: Tensor, row_labels: list[str], scale: int = 4
) -> Path:
    """Write `images` (B, C, H, W) as one row per label of `row_labels` (B divisible by their
    count), each row headed by its label, magnified `scale`× (nearest): a PNG for the gallery."""
    from PIL import Image, ImageDraw

    columns = images.shape[0] // len(row_labels)
    cells = Image.open(io.BytesIO(png_bytes(to_uint8(grid(images, columns)), scale)))
    gutter = 8 * max(len(label) for label in row_labels) + 16
    page = Image.new(cells.mode, (cells.width + gutter, cells.height), 0)
    page.paste(cells, (gutter, 0))
    pen = ImageDraw.Draw(page)
    row = (images.shape[2] + 1) * scale
    for r, label in enumerate(row_labels):
        pen.text(
            (6, scale + r * row + row // 2 - 6), label, fill=255 if cells.mode == "L" else "white"
        )
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))
