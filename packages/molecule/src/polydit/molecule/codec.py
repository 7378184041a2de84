"""Atoms ↔ tokens: one token per atom, [x, y, z (Å), type one-hot · type_scale].

Coordinates are used as given (the data sets store them centred on each molecule's mean), so
decode(encode(·)) returns the coordinates and types exactly (type_scale is a power of two).
Padding tokens are zeros and masked out (``Tokens.mask``); there is no positional embedding
(the tokens are a set).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens

COORD_DIMS = 3


@dataclass(frozen=True)
class AtomCodec(JsonConfig):
    """atom_types: the alphabet (index i ↔ one-hot channel i); type_scale: one-hot amplitude
    (EDM scales one-hot types by 0.25); coord_scale: Å per token unit (1 = Å as in EDM; QM9's
    per-axis coordinate spread is ≈ 1.4 Å, so 1.4 gives about unit variance)."""

    atom_types: tuple[str, ...] = ("H", "C", "N", "O", "F")
    type_scale: float = 0.25
    coord_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.atom_types:
            raise ConfigError("AtomCodec.atom_types must not be empty")
        if self.type_scale <= 0:
            raise ConfigError(f"AtomCodec.type_scale must be > 0, got {self.type_scale}")
        if self.coord_scale <= 0:
            raise ConfigError(f"AtomCodec.coord_scale must be > 0, got {self.coord_scale}")

    @property
    def channels(self) -> int:
        return COORD_DIMS + len(self.atom_types)

    def encode(self, types: Tensor, coords: Tensor, mask: Tensor | None = None) -> Tokens:
        """types (B, N) long (−1 = padding), coords (B, N, 3) → Tokens x (B, N, 3 + K), mask."""
        if mask is None:
            mask = types >= 0
        onehot = torch.nn.functional.one_hot(types.clamp_min(0), len(self.atom_types))
        x = torch.cat([coords.float() / self.coord_scale, onehot.float() * self.type_scale], -1)
        return Tokens(x * mask[..., None], None, mask)

    def decode(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Tokens x (B, N, 3 + K) → (types (B, N) long, −1 at padding; coords (B, N, 3))."""
        types = x[..., COORD_DIMS:].argmax(-1)
        coords = x[..., :COORD_DIMS] * self.coord_scale
        if mask is not None:
            types = torch.where(mask, types, -1)
            coords = coords * mask[..., None]
        return types, coords


def random_rotations(n: int, generator: torch.Generator | None = None) -> Tensor:
    """(n, 3, 3) rotation matrices, uniform on SO(3) (QR of a Gaussian, sign-fixed, det +1)."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    flip = torch.linalg.det(q) < 0
    q[flip, :, 0] = -q[flip, :, 0]
    return q


def centred_noise(shape: tuple[int, ...], mask: Tensor, generator=None, dims: int = COORD_DIMS):
    """Gaussian noise (B, N, C) whose first `dims` channels have zero mean over the real tokens
    (mask (B, N) bool) — the translation-free noise of EDM/ADiT; padding rows are zero."""
    noise = torch.randn(shape, generator=generator)
    return centre(noise, mask.to(noise.device), dims)


def centre(x: Tensor, mask: Tensor, dims: int = COORD_DIMS) -> Tensor:
    """x (B, N, C) with the mean over real tokens removed from its first `dims` channels and
    padding rows zeroed."""
    m = mask[..., None].to(x.dtype)
    head = x[..., :dims] * m
    mean = head.sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp_min(1)
    return torch.cat([(head - mean) * m, x[..., dims:] * m], -1)


def rotate(coords: Tensor, rotations: Tensor) -> Tensor:
    """coords (B, N, 3) rotated by (B, 3, 3) about the origin."""
    return coords @ rotations.transpose(-1, -2)
