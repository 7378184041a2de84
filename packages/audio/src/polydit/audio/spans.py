"""Random inpainting spans for masked-latent training (EzAudio's ``mae_prob``): the model learns
to fill a span from the clean tokens around it, so inpainting and continuation need no second
model."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def inpaint_given(
    batch: int, tokens: int, prob: float, shortest: float, generator: torch.Generator
) -> Tensor:
    """(batch, tokens) bool given mask: for a clip drawn with probability `prob`, every token
    outside one contiguous span of ceil(shortest · tokens)…tokens tokens (uniform length, then
    uniform start); nothing for the others."""
    device = generator.device
    use = torch.rand(batch, generator=generator, device=device) < prob
    low = max(1, math.ceil(shortest * tokens))
    u = torch.rand(2, batch, generator=generator, device=device)
    length = (low + (u[0] * (tokens - low + 1)).long()).clamp(max=tokens)
    start = (u[1] * (tokens - length + 1)).long()
    idx = torch.arange(tokens, device=device)[None, :]
    span = (idx >= start[:, None]) & (idx < (start + length)[:, None])
    return use[:, None] & ~span
