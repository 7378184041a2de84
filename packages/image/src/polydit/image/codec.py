"""Images ↔ tokens: non-overlapping p×p patches with 2-D (row, column) positions for axial RoPE.

An image (C, H, W) becomes N = (H/p)·(W/p) tokens of p·p·C channels, in row-major patch order;
token (i, j) has position (i, j) in patch units. Decoding is the exact inverse (a pure reshape).

Larger grids (FiTv2-style any-resolution sampling): :meth:`PatchCodec.template` accepts any
height/width that are multiples of p. With ``positions="extrapolate"`` the new patches get
positions beyond the trained range (RoPE extrapolation); with ``"interpolate"`` positions are
rescaled into the trained range (position interpolation, as FiTv2's NTK/YaRN variants do in spirit).

The codec also names what its tokens are conditioned on (class names, the prompt encoder) and
the data it was fitted to, so a generator is rebuilt from the codec alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from einops import rearrange
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens

POSITION_MODES = ("extrapolate", "interpolate")


@dataclass(frozen=True)
class PatchCodec(JsonConfig):
    """channels C, trained height H and width W, patch size p (H and W multiples of p).

    class_names: the label vocabulary (label i is class_names[i]); text_encoder: the prompt
    encoder of a text model (:mod:`polydit.image.text`), None for a class model; data: the name
    of the training set. Equality (what a warm start checks) is the token layout alone: the
    other fields describe conditioning and data, which a fine-tuning run may change (the DiT's
    label table and context width are checked with the network).
    """

    channels: int = 1
    height: int = 8
    width: int = 8
    patch: int = 2
    class_names: tuple[str, ...] = field(default=(), compare=False)
    text_encoder: str | None = field(default=None, compare=False)
    data: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("channels", "height", "width", "patch"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"codec {name} must be a positive integer, got {value!r}")
        if self.height % self.patch or self.width % self.patch:
            raise ConfigError(
                f"image size {self.height}×{self.width} is not a multiple of patch={self.patch}"
            )

    @property
    def token_dim(self) -> int:
        return self.patch * self.patch * self.channels

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, cols) of the trained patch grid."""
        return self.height // self.patch, self.width // self.patch

    def positions(
        self, height: int | None = None, width: int | None = None, mode: str = "extrapolate"
    ) -> Tensor:
        """(N, 2) float (row, col) patch coordinates of a height×width image."""
        height, width = height or self.height, width or self.width
        if height % self.patch or width % self.patch:
            raise ConfigError(
                f"--size {height}×{width} is not a multiple of the patch size {self.patch}"
            )
        if mode not in POSITION_MODES:
            raise ConfigError(f"positions must be one of {POSITION_MODES}, got {mode!r}")
        rows, cols = height // self.patch, width // self.patch
        r, c = torch.meshgrid(
            torch.arange(rows, dtype=torch.float32),
            torch.arange(cols, dtype=torch.float32),
            indexing="ij",
        )
        if mode == "interpolate":
            r = r * (self.grid[0] - 1) / max(rows - 1, 1)
            c = c * (self.grid[1] - 1) / max(cols - 1, 1)
        return torch.stack([r.flatten(), c.flatten()], dim=-1)

    def encode(self, images: Tensor) -> Tokens:
        """images (B, C, H, W) → Tokens(x (B, N, p·p·C), pos (B, N, 2))."""
        b, c, h, w = images.shape
        if c != self.channels:
            raise ConfigError(f"images have {c} channels; this codec expects {self.channels}")
        p = self.patch
        x = rearrange(images, "b c (i p) (j q) -> b (i j) (p q c)", p=p, q=p)
        pos = self.positions(h, w).to(images.device).expand(b, -1, -1)
        return Tokens(x, pos)

    def decode(
        self, x: Tensor, template: Tokens, height: int | None = None, width: int | None = None
    ) -> Tensor:
        """x (B, N, p·p·C) sampled on `template` → images (B, C, H, W) at the trained size, or
        at the height×width the template was made for."""
        height, width = height or self.height, width or self.width
        p = self.patch
        return rearrange(
            x, "b (i j) (p q c) -> b c (i p) (j q)", i=height // p, j=width // p, p=p, q=p
        )

    def template(
        self,
        num: int,
        height: int | None = None,
        width: int | None = None,
        mode: str = "extrapolate",
    ) -> Tokens:
        """Zeros (num, N, p·p·C) with the positions of `num` height×width images."""
        pos = self.positions(height, width, mode)
        x = torch.zeros(num, pos.shape[0], self.token_dim)
        return Tokens(x, pos.expand(num, -1, -1))
