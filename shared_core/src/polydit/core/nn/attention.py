"""Multi-head self-attention on PyTorch's scaled_dot_product_attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from polydit.core.nn.rope import apply_rope


class Attention(nn.Module):
    """Fused-QKV attention with optional QK-norm (RMSNorm per head) and RoPE.

    Split into :meth:`project` (x → q, k, v) and :func:`attend` so that MM-DiT joint blocks can
    project each stream with its own weights and attend over the concatenation.
    """

    def __init__(self, dim: int, heads: int, qk_norm: bool = False, eps: float = 1e-6):
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden size {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        head_dim = dim // heads
        self.q_norm = nn.RMSNorm(head_dim, eps=eps) if qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(head_dim, eps=eps) if qk_norm else nn.Identity()

    def project(
        self, x: Tensor, rope: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, N, D) → q, k, v, each (B, H, N, D/H); QK-norm then RoPE applied to q and k."""
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.heads)
        q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        return q, k, v

    def forward(
        self,
        x: Tensor,
        rope: tuple[Tensor, Tensor] | None = None,
        mask: Tensor | None = None,
        bias: Tensor | None = None,
    ) -> Tensor:
        """x (B, N, D) → (B, N, D). mask (B, N) bool keys to attend; bias (B, H, N, N) additive."""
        return self.proj(attend(*self.project(x, rope), mask=mask, bias=bias))


def attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, bias: Tensor | None = None
) -> Tensor:
    """SDPA over q, k, v (B, H, N, Dh) → (B, N, H*Dh).

    mask (B, N) bool marks the keys that may be attended (padding excluded); bias (B, H, N, N) is
    added to the attention logits (pair features, e.g. graph edges).
    """
    attn_mask = None
    if bias is not None:
        attn_mask = bias.to(q.dtype)
        if mask is not None:
            attn_mask = attn_mask.masked_fill(~mask[:, None, None, :], float("-inf"))
    elif mask is not None:
        attn_mask = mask[:, None, None, :]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    return rearrange(out, "b h n d -> b n (h d)")


def key_mask(*masks: Tensor | None, lengths: tuple[int, ...], like: Tensor) -> Tensor | None:
    """Concatenate per-segment key masks (None = all real) into one (B, sum(lengths)) mask."""
    if all(m is None for m in masks):
        return None
    parts = [
        m if m is not None else torch.ones(like.shape[0], n, dtype=torch.bool, device=like.device)
        for m, n in zip(masks, lengths, strict=True)
    ]
    return torch.cat(parts, dim=1)
