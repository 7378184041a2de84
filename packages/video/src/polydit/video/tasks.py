"""The VDT task mixture: which frames/pixels of a training clip are given (clean conditioning).

One model learns every task because each training clip draws its `given` mask from this
mixture (VDT's spatial-temporal mask modeling; `mask_generator.py` of RERV/VDT):

- predict:      the first k frames are given (k uniform in [1, T/2]);
- interpolate:  the first and last frames are given;
- unconditional: nothing is given;
- backward:     the last k frames are given;
- complete:     a spatial box (about half of the area) is given in every frame;
- random:       each frame is given with probability 1/2 (VDT's random-frame mode).

All masks are (B, T, H, W) bool pixel masks; the codec turns them into token masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError

TASKS = ("predict", "interpolate", "unconditional", "backward", "complete", "random")


@dataclass(frozen=True)
class TaskMix(JsonConfig):
    """Probabilities of the training tasks (normalised; need not sum to 1)."""

    predict: float = 0.4
    interpolate: float = 0.3
    unconditional: float = 0.1
    backward: float = 0.05
    complete: float = 0.05
    random: float = 0.1

    def __post_init__(self) -> None:
        weights = self.weights()
        if (weights < 0).any() or weights.sum() <= 0:
            raise ConfigError(f"TaskMix: weights must be >= 0 and not all 0, got {self}")

    def weights(self) -> Tensor:
        return torch.tensor([getattr(self, name) for name in TASKS], dtype=torch.float64)


def predict_frames(batch: int, frames: int, given: int) -> Tensor:
    """(B, T) bool: the first `given` frames."""
    if not 0 < given < frames:
        raise ConfigError(f"--given must be in [1, {frames - 1}] for {frames}-frame clips")
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    mask[:, :given] = True
    return mask


def interpolate_frames(batch: int, frames: int) -> Tensor:
    """(B, T) bool: the first and the last frame."""
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    mask[:, [0, -1]] = True
    return mask


def box_pixels(
    batch: int, frames: int, size: int, top: int, left: int, height: int, width: int
) -> Tensor:
    """(B, T, H, W) bool: the same box given in every frame (completion)."""
    mask = torch.zeros(batch, frames, size, size, dtype=torch.bool)
    mask[:, :, top : top + height, left : left + width] = True
    return mask


def sample_given(
    mix: TaskMix, batch: int, frames: int, size: int, generator: torch.Generator, quantum: int = 1
) -> Tensor:
    """(B, T, H, W) bool given pixels, one task per clip drawn from `mix` with `generator`.

    quantum: box edges of the completion task are multiples of it (the spatial patch size).
    """
    task = torch.multinomial(mix.weights(), batch, replacement=True, generator=generator)
    k = torch.randint(1, frames // 2 + 1, (batch,), generator=generator)
    coin = torch.rand(batch, frames, generator=generator) < 0.5
    cells = size // quantum
    box = torch.randint(0, cells, (batch, 4), generator=generator)
    idx = torch.arange(frames)
    frame_mask = torch.zeros(batch, frames, dtype=torch.bool)
    pixel_mask = torch.zeros(batch, frames, size, size, dtype=torch.bool)
    for b in range(batch):
        name = TASKS[int(task[b])]
        if name == "predict":
            frame_mask[b] = idx < k[b]
        elif name == "interpolate":
            frame_mask[b] = (idx == 0) | (idx == frames - 1)
        elif name == "backward":
            frame_mask[b] = idx >= frames - k[b]
        elif name == "random":
            frame_mask[b] = coin[b]
        elif name == "complete":  # a box of about half the area: side in [cells/2, cells)
            side = cells // 2 + box[b, :2] % max(cells - cells // 2, 1)
            top, left = (box[b, 2:] % (cells - side + 1)).tolist()
            (h, w) = side.tolist()
            pixel_mask[
                b, :, top * quantum : (top + h) * quantum, left * quantum : (left + w) * quantum
            ] = True
    return pixel_mask | frame_mask[:, :, None, None]
