"""3D window attention: each token attends only to the tokens of its own window.

The tokens are an X × Y × Z grid in row-major order (token ``(i, j, k)`` is row
``(i·Y + j)·Z + k``), the order a codec's 3D patchify produces. The grid is cut into
non-overlapping, unshifted windows of ``wx × wy × wz`` tokens (Swin-style; DiT-3D's "3D window
attention" in alternate blocks), so attention costs ``N · w³`` instead of ``N²``. A window that
covers the whole grid is plain full attention.

:class:`WindowDiTBlock` is the adaLN-Zero :class:`~polydit.core.nn.blocks.DiTBlock` with its
attention so restricted. It has the DiTBlock's submodules under the same names, so weights move
between the two, but it is deliberately not a DiTBlock subclass: the accelerators that rebuild a
DiTBlock's attention from its keys and values (RAS) would otherwise run it as full attention;
they treat it as an opaque block instead.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from polydit.core.errors import ConfigError
from polydit.core.nn.attention import Attention
from polydit.core.nn.blocks import BlockInputs, adaln, feed_forward, modulate, zero_linear
from polydit.core.nn.mlp import MoEConfig

Grid = tuple[int, int, int]


def check_windows(grid: Grid, window: Grid) -> None:
    """Raise ConfigError unless `window` divides `grid` along every axis."""
    if len(grid) != 3 or len(window) != 3:
        raise ConfigError(f"window attention needs a 3D grid and window, got {grid} / {window}")
    for axis, (g, w) in enumerate(zip(grid, window, strict=True)):
        if w < 1 or g % w:
            raise ConfigError(
                f"window {window} does not tile the token grid {grid} (axis {axis}: {w} ∤ {g})"
            )


def window_attend(q: Tensor, k: Tensor, v: Tensor, grid: Grid, window: Grid) -> Tensor:
    """q, k, v (B, H, N, Dh) on a row-major X×Y×Z grid (N = X·Y·Z) → (B, N, H·Dh), every token
    attending only to the w = wx·wy·wz tokens of its window."""
    check_windows(grid, window)
    if q.shape[2] != math.prod(grid):
        raise ConfigError(f"{q.shape[2]} tokens do not form the {grid} window-attention grid")
    (gx, gy, gz), (wx, wy, wz) = [g // w for g, w in zip(grid, window, strict=True)], window
    split = "b h (gx wx gy wy gz wz) d -> b h (gx gy gz) (wx wy wz) d"
    sizes = {"gx": gx, "gy": gy, "gz": gz, "wx": wx, "wy": wy, "wz": wz}
    q, k, v = (rearrange(t, split, **sizes) for t in (q, k, v))  # (B, H, windows, w, Dh)
    out = F.scaled_dot_product_attention(q, k, v)
    return rearrange(out, "b h (gx gy gz) (wx wy wz) d -> b (gx wx gy wy gz wz) (h d)", **sizes)


class WindowDiTBlock(nn.Module):
    """adaLN-Zero DiT block whose attention is restricted to 3D windows (see module docstring).

    grid: the (X, Y, Z) token grid every input has; window: (wx, wy, wz), dividing it. The
    block takes no context tokens, key mask or attention bias (a voxel grid has none).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        grid: Grid,
        window: Grid,
        mlp_ratio: float = 4.0,
        qk_norm: bool = False,
        moe: MoEConfig | None = None,
        eps: float = 1e-6,
    ):
        super().__init__()
        check_windows(tuple(grid), tuple(window))
        self.grid, self.window = tuple(grid), tuple(window)
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.attn = Attention(dim, heads, qk_norm)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.mlp = feed_forward(dim, mlp_ratio, moe)
        self.adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 6 * dim))

    def forward(self, x: Tensor, inputs: BlockInputs) -> Tensor:
        """x (B, N, D) with N = X·Y·Z → (B, N, D)."""
        if inputs.num_context or inputs.mask is not None or inputs.bias is not None:
            raise ConfigError(
                "a window-attention block takes no context tokens, key mask or attention bias"
            )
        shift1, scale1, gate1, shift2, scale2, gate2 = adaln(self.adaln, inputs.c, inputs.slot, 6)
        q, k, v = self.attn.project(modulate(self.norm1(x), shift1, scale1), inputs.rope)
        x = x + gate1 * self.attn.proj(window_attend(q, k, v, self.grid, self.window))
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2), inputs.c)
