"""Axial rotary position embeddings over any number of axes."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AxialRoPE(nn.Module):
    """Rotary embeddings for tokens with A-dimensional float coordinates.

    The head dimension is split into A equal groups of rotated pairs, one group per axis (any
    pairs left over stay unrotated). Pair i of an axis rotates by ``pos * theta**(-i / n)``, where n
    is the number of pairs of that axis. Attention scores then depend only on coordinate
    *differences*: the relative-position property RoPE is used for.
    """

    def __init__(self, head_dim: int, num_axes: int, theta: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
        self.num_axes = num_axes
        self.pairs_per_axis = head_dim // 2 // num_axes
        if self.pairs_per_axis == 0:
            raise ValueError(f"head dimension {head_dim} is too small for {num_axes} RoPE axes")
        self.head_dim = head_dim
        exponent = torch.arange(self.pairs_per_axis, dtype=torch.float64) / self.pairs_per_axis
        self.register_buffer("freqs", (theta**-exponent).float(), persistent=False)

    def forward(self, pos: Tensor) -> tuple[Tensor, Tensor]:
        """pos (B, N, A) → (cos, sin), each (B, 1, N, head_dim // 2), ready for :func:`apply_rope`."""
        angles = (pos.to(self.freqs.dtype)[..., None] * self.freqs).flatten(-2)  # (B, N, A * pairs)
        pad = self.head_dim // 2 - angles.shape[-1]
        if pad:
            angles = torch.nn.functional.pad(angles, (0, pad))
        angles = angles[:, None]
        return angles.cos(), angles.sin()


def apply_rope(x: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
    """Rotate consecutive pairs (x[2i], x[2i+1]) of x (B, H, N, Dh) by the angles of `rope`
    (computed in the angles' precision, at least float32)."""
    cos, sin = rope
    x1, x2 = x.to(cos.dtype).unflatten(-1, (-1, 2)).unbind(-1)
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
    return rotated.type_as(x)
