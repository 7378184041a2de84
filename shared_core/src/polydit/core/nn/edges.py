"""An edge stream beside the tokens: pair features (B, N, N, E) updated in every block.

DiGress-style: the edge features modulate each head's attention logits (FiLM: ``s·(1 + m) + a``
with m, a linear in the edge features) and the modulated logits are read back into the edge
stream; each node also receives the attention-weighted average of its edge features (per head,
as AlphaFold's pair-weighted values), so edges reach nodes even where node features are equal;
each stream then has its own adaLN-Zero MLP. A fresh block is the identity on both
streams. Attention may also be restricted by a (B, N, N) query-key mask, e.g. the causal block
mask of block-wise autoregressive models (PARD).
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import Tensor, nn

from polydit.core.nn.attention import Attention
from polydit.core.nn.blocks import BlockInputs, adaln, modulate, zero_linear
from polydit.core.nn.mlp import MLP


def block_causal_mask(blocks: Tensor) -> Tensor:
    """blocks (B, N) long block index per token → (B, N, N) bool: query i may attend key j
    exactly when ``blocks[j] <= blocks[i]`` (a block sees itself and every earlier block)."""
    return blocks[:, None, :] <= blocks[:, :, None]


class EdgeBlock(nn.Module):
    """``(x (B, N, D), e (B, N, N, E), inputs, allowed (B, N, N) | None) -> (x, e)``."""

    def __init__(
        self,
        dim: int,
        heads: int,
        edge_dim: int,
        mlp_ratio: float = 4.0,
        qk_norm: bool = False,
        eps: float = 1e-6,
        edge_mlp_ratio: float | None = None,
    ):
        """edge_mlp_ratio: the edge MLP's expansion (default: mlp_ratio)."""
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.attn = Attention(dim, heads, qk_norm)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio))
        self.adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 6 * dim))
        self.edge_norm1 = nn.LayerNorm(edge_dim, elementwise_affine=False, eps=eps)
        self.edge_film = nn.Linear(edge_dim, 2 * heads)
        self.edge_read = nn.Linear(heads, edge_dim)
        self.edge_value = nn.Linear(heads * edge_dim, dim)
        self.edge_norm2 = nn.LayerNorm(edge_dim, elementwise_affine=False, eps=eps)
        self.edge_mlp = MLP(edge_dim, int(edge_dim * (edge_mlp_ratio or mlp_ratio)))
        self.edge_adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 6 * edge_dim))

    def forward(
        self, x: Tensor, e: Tensor, inputs: BlockInputs, allowed: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        shift1, scale1, gate1, shift2, scale2, gate2 = adaln(self.adaln, inputs.c, inputs.slot, 6)
        edge_mod = self.edge_adaln(inputs.c[:, :1])[:, :, None]  # (B, 1, 1, 6E)
        e_shift1, e_scale1, e_gate1, e_shift2, e_scale2, e_gate2 = edge_mod.chunk(6, dim=-1)

        q, k, v = self.attn.project(modulate(self.norm1(x), shift1, scale1), inputs.rope)
        film = self.edge_film(modulate(self.edge_norm1(e), e_shift1, e_scale1))  # (B, N, N, 2H)
        mul, add = rearrange(film, "b i j (two h) -> two b h i j", two=2)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, N, N)
        logits = logits * (1 + mul) + add
        e = e + e_gate1 * self.edge_read(rearrange(logits, "b h i j -> b i j h"))

        keep = allowed[:, None] if allowed is not None else None
        if inputs.mask is not None:
            keys = inputs.mask[:, None, None, :]
            keep = keys if keep is None else keep & keys
        if keep is not None:
            logits = logits.masked_fill(~keep, float("-inf"))
        weights = torch.softmax(logits, dim=-1).nan_to_num(0.0)  # a row with no allowed key: 0
        out = rearrange(weights @ v, "b h n d -> b n (h d)")
        pair = torch.einsum("bhij,bije->bihe", weights, e).flatten(2)  # (B, N, H·E)
        x = x + gate1 * self.attn.proj(out + self.edge_value(pair))
        x = x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))
        e = e + e_gate2 * self.edge_mlp(modulate(self.edge_norm2(e), e_shift2, e_scale2))
        return x, e


class EdgeHead(nn.Module):
    """adaLN then a zero-initialised linear from the edge stream (B, N, N, E) to `out_dim`."""

    def __init__(self, dim: int, edge_dim: int, out_dim: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(edge_dim, elementwise_affine=False, eps=eps)
        self.adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 2 * edge_dim))
        self.linear = zero_linear(edge_dim, out_dim)

    def forward(self, e: Tensor, inputs: BlockInputs) -> Tensor:
        shift, scale = self.adaln(inputs.c[:, :1])[:, :, None].chunk(2, dim=-1)
        return self.linear(modulate(self.norm(e), shift, scale))
