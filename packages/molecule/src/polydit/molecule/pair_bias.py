"""Optional pair head (not in ADiT): an additive attention bias from interatomic distances.

``PairBiasDiT`` is the core DiT whose :meth:`prepare` adds, when no bias is given, a per-head bias
``MLP([RBF(|x_i − x_j|), t]) → (B, H, N, N)`` computed from the current (noisy) coordinate
channels. Distances are rotation/translation invariant, so this feeds the transformer invariant
pair features; the network as a whole is still not equivariant. Every path into the blocks
(plain forward and the cached accelerators) goes through ``prepare``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from polydit.core.dit import DiT, DiTConfig
from polydit.core.tokens import Cond, Tokens

NUM_RBF = 16
RBF_MAX = 4.0  # token units: with coordinates in Å ... 4 Å covers bonded and 1–3 neighbours
PAIR_HIDDEN = 32


class PairBias(nn.Module):
    """(coords (B, N, 3), t (B,)) → bias (B, H, N, N): Gaussian RBFs of distances plus t, MLP."""

    def __init__(self, heads: int, num_rbf: int = NUM_RBF, rbf_max: float = RBF_MAX):
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, rbf_max, num_rbf), persistent=False)
        self.width = rbf_max / (num_rbf - 1)
        self.mlp = nn.Sequential(
            nn.Linear(num_rbf + 1, PAIR_HIDDEN), nn.SiLU(), nn.Linear(PAIR_HIDDEN, heads)
        )
        nn.init.zeros_(self.mlp[2].weight)  # starts as the plain DiT
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, coords: Tensor, t: Tensor) -> Tensor:
        d = torch.cdist(coords.float(), coords.float())  # (B, N, N)
        rbf = torch.exp(-(((d[..., None] - self.centres) / self.width) ** 2))
        tt = t.float().reshape(-1, 1, 1, 1).expand(*d.shape, 1)
        return self.mlp(torch.cat([rbf, tt], -1)).permute(0, 3, 1, 2).to(coords.dtype)


class PairBiasDiT(DiT):
    """DiT + :class:`PairBias` over the first `coord_dims` token channels."""

    def __init__(self, config: DiTConfig, coord_dims: int = 3):
        super().__init__(config)
        self.coord_dims = coord_dims
        self.pair = PairBias(config.heads)

    def prepare(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ):
        if bias is None:
            bias = self.pair(tokens.x[..., : self.coord_dims], t)
        return super().prepare(tokens, t, cond, bias)
