"""Pictures of clips: their log-mel spectrograms side by side in one grayscale PNG.

Each tile is one clip's log-mel (:mod:`polydit.audio.mel`, the codec's settings by default; a
linear-scale codec's clips are drawn on the mel scale of the same STFT, `n_mels` rows), time
left to right, low frequencies at the bottom, every cell drawn as a `zoom` × `zoom` block;
black is the grid's loudest value, white `RANGE` nats (≈ 70 dB) below it, so tiles compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from polydit.audio.mel import LogMel, MelConfig
from polydit.core.atomic import atomic_write

RANGE = 8.0  # nats of log-mel shown (8 nats of magnitude ≈ 69.5 dB)
GAP = 2  # white pixels between tiles


def spectrogram_grid(
    waves: Tensor, config: MelConfig | None = None, columns: int = 8, zoom: int = 2
) -> Image.Image:
    """Clips (B, L) → an "L"-mode image of B tiles, `columns` per row."""
    with torch.no_grad():
        mel = (config or MelConfig()).replace(scale="mel")
        log_mel = LogMel(mel)(waves.float().cpu())  # (B, n_mels, F)
    top = float(log_mel.max())
    shade = ((top - log_mel) / RANGE).clamp(0, 1).flip(1)  # 0 = loudest, low bands at the bottom
    tiles = (shade * 255).round().to(torch.uint8).numpy()
    b, h, w = tiles.shape
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    h, w = h * zoom, w * zoom
    columns = max(1, min(columns, b))
    rows = -(-b // columns)
    grid = np.full((rows * (h + GAP) - GAP, columns * (w + GAP) - GAP), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = tile
    return Image.fromarray(grid, mode="L")


def save_spectrograms(
    path: str | Path, waves: Tensor, config: MelConfig | None = None, columns: int = 8
) -> Path:
    """Write :func:`spectrogram_grid` of `waves` (B, L) as a PNG at `path`, atomically."""
    image = spectrogram_grid(waves, config, columns)
    return atomic_write(path, lambda f: image.save(f, format="PNG"))
