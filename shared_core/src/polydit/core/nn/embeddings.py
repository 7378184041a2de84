"""Embeddings of time, class labels and absolute positions."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def timestep_features(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal features (B, dim) of scalar times t (B,), laid out as [cos | sin].

    Frequencies are ``max_period ** (-i / (dim/2 - 1))``, i = 0..dim/2-1 (diffusers' DiT layout, so
    ported DiT weights see the features they were trained with).
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.cos(), args.sin()], dim=-1)


class TimestepEmbedding(nn.Module):
    """t (B,) in [0, 1] → (B, D): sinusoidal features of ``t * time_scale``, then an MLP."""

    def __init__(self, hidden: int, time_scale: float = 1000.0, freq_dim: int = 256):
        super().__init__()
        self.time_scale = time_scale
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t: Tensor) -> Tensor:
        features = timestep_features(t * self.time_scale, self.freq_dim)
        return self.mlp(features.to(self.mlp[0].weight.dtype))


class LabelEmbedding(nn.Module):
    """Class ids (B,) → (B, D), with one extra row (index ``num_classes``) as the null class."""

    def __init__(self, num_classes: int, hidden: int):
        super().__init__()
        self.num_classes = num_classes
        self.table = nn.Embedding(num_classes + 1, hidden)

    def forward(self, labels: Tensor, dropped: Tensor | None = None) -> Tensor:
        if dropped is not None:
            labels = torch.where(dropped, torch.full_like(labels, self.num_classes), labels)
        return self.table(labels)


def sincos_embedding(pos: Tensor, dim: int) -> Tensor:
    """Fixed sin-cos embedding (B, N, dim) of coordinates pos (B, N, A).

    Each axis gets dim/A channels laid out as [sin | cos] of ``pos * 10000 ** (-i / (dim/2A))``
    (the MAE/DiT formula); the axes are concatenated in order.
    """
    axes = pos.shape[-1]
    per_axis = dim // axes
    if per_axis % 2 or per_axis * axes != dim:
        raise ValueError(f"sin-cos embedding: dim {dim} must split into {axes} even parts")
    half = per_axis // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64, device=pos.device) / half)
    args = pos.double()[..., None] * omega  # (B, N, A, half)
    return torch.cat([args.sin(), args.cos()], dim=-1).flatten(-2).float()
