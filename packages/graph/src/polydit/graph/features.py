"""Structural features of a (noisy) graph state, recomputed at every denoising step.

Random-walk probabilities (RRWP, as DeFoG's extra features): with the random-walk matrix
``P = D⁻¹ A`` of the adjacency A (B, N, N) over the real nodes, the pair features are
``[P¹, …, P^K]`` (B, N, N, K) and the node features their diagonals (B, N, K) — the return
probabilities, which see cycles (P³ᵢᵢ > 0 exactly when node i is on a triangle) that a plain
node/edge transformer cannot count. Isolated and padding nodes walk nowhere (rows of zeros).
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_walk_features(adjacency: Tensor, mask: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    """adjacency (B, N, N) {0, 1} float, mask (B, N) bool, steps K ≥ 0 →
    (node (B, N, K), pair (B, N, N, K)) float32; K = 0 gives empty last axes."""
    b, n = mask.shape
    if steps == 0:
        return adjacency.new_zeros(b, n, 0), adjacency.new_zeros(b, n, n, 0)
    valid = (mask[:, :, None] & mask[:, None, :]).float()
    a = adjacency.float() * valid
    walk = a / a.sum(-1, keepdim=True).clamp_min(1.0)
    power, pairs = walk, [walk]
    for _ in range(steps - 1):
        power = power @ walk
        pairs.append(power)
    pair = torch.stack(pairs, dim=-1)
    return pair.diagonal(dim1=1, dim2=2).transpose(1, 2), pair
