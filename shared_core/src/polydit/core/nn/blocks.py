"""adaLN-Zero transformer blocks with one I/O protocol: ``block(x, inputs) -> x``.

x is the whole token sequence (B, L, D). With context tokens (MM-DiT) the first
``inputs.num_context`` rows are the context stream and the rest the generated stream; a
:class:`JointBlock` keeps separate weights per stream but attends over both. Because every block
maps a tensor to a tensor of the same shape, accelerators can wrap any block alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.nn.attention import Attention, attend
from polydit.core.nn.mlp import MLP, MoEConfig, MoEMLP


@dataclass
class BlockInputs:
    """Per-forward inputs shared by all blocks.

    c:    (B, S, D) conditioning slots: slot 0 is the generated tokens' (time + labels + vector);
          with ``Cond.given``, slot 1 is the same at t = 0, for the clean conditioning tokens.
    slot: (B, N) long slot index per generated-stream token, or None (all slot 0).
    rope: (cos, sin) for the generated stream, or None.
    mask: (B, L) bool key mask over the whole sequence, or None.
    bias: (B, H, L, L) additive attention bias, or None.
    num_context: M, the number of leading context tokens.
    """

    c: Tensor
    slot: Tensor | None = None
    rope: tuple[Tensor, Tensor] | None = None
    mask: Tensor | None = None
    bias: Tensor | None = None
    num_context: int = 0


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


def adaln(linear: nn.Module, c: Tensor, slot: Tensor | None, chunks: int) -> tuple[Tensor, ...]:
    """Modulation parameters, each (B, N, D) per token or (B, 1, D) shared."""
    mod = linear(c)  # (B, S, chunks * D)
    if slot is None:
        mod = mod[:, :1]
    else:
        mod = torch.gather(mod, 1, slot[..., None].expand(-1, -1, mod.shape[-1]))
    return mod.chunk(chunks, dim=-1)


def zero_linear(dim_in: int, dim_out: int) -> nn.Linear:
    """A linear layer that starts at zero (adaLN-Zero); the DiT's init keeps it there."""
    layer = nn.Linear(dim_in, dim_out)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    layer.zero_init = True  # type: ignore[assignment]
    return layer


def feed_forward(dim: int, mlp_ratio: float, moe: MoEConfig | None) -> nn.Module:
    hidden = int(dim * mlp_ratio)
    return MLP(dim, hidden) if moe is None else MoEMLP(dim, hidden, moe)


class DiTBlock(nn.Module):
    """DiT block: x + gate·Attn(modulate(LN(x))) then x + gate·MLP(modulate(LN(x))).

    The modulation projection is zero-initialised (adaLN-Zero), so a new block is the identity.
    The two branches are separate methods so caches can reuse their (pre-gate) outputs while the
    modulation is recomputed every step.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        mlp_ratio: float = 4.0,
        qk_norm: bool = False,
        moe: MoEConfig | None = None,
        eps: float = 1e-6,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.attn = Attention(dim, heads, qk_norm)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.mlp = feed_forward(dim, mlp_ratio, moe)
        self.adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 6 * dim))

    def modulation(self, inputs: BlockInputs) -> tuple[Tensor, ...]:
        """(shift, scale, gate) for attention then for the MLP, each (B, N|1, D)."""
        return adaln(self.adaln, inputs.c, inputs.slot, 6)

    def attn_branch(self, x: Tensor, shift: Tensor, scale: Tensor, inputs: BlockInputs) -> Tensor:
        return self.attn(
            modulate(self.norm1(x), shift, scale), inputs.rope, inputs.mask, inputs.bias
        )

    def mlp_branch(self, x: Tensor, shift: Tensor, scale: Tensor, inputs: BlockInputs) -> Tensor:
        return self.mlp(modulate(self.norm2(x), shift, scale), inputs.c)

    def forward(self, x: Tensor, inputs: BlockInputs) -> Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(inputs)
        x = x + gate1 * self.attn_branch(x, shift1, scale1, inputs)
        return x + gate2 * self.mlp_branch(x, shift2, scale2, inputs)


class JointBlock(nn.Module):
    """MM-DiT block (SD3): context and generated streams with their own adaLN-Zero, QKV, output
    projection and MLP, attending jointly over the concatenated sequence [context; generated].
    Options are :class:`DiTBlock`'s; the context stream never routes through experts."""

    def __init__(self, dim: int, heads: int, **options: Any):
        super().__init__()
        self.x = DiTBlock(dim, heads, **options)
        self.ctx = DiTBlock(dim, heads, **{**options, "moe": None})

    def forward(self, x: Tensor, inputs: BlockInputs) -> Tensor:
        m = inputs.num_context
        xc, xg = x[:, :m], x[:, m:]
        mod_c = adaln(self.ctx.adaln, inputs.c, None, 6)
        mod_g = self.x.modulation(inputs)
        qc, kc, vc = self.ctx.attn.project(modulate(self.ctx.norm1(xc), mod_c[0], mod_c[1]))
        qg, kg, vg = self.x.attn.project(
            modulate(self.x.norm1(xg), mod_g[0], mod_g[1]), inputs.rope
        )
        h = attend(
            torch.cat([qc, qg], 2),
            torch.cat([kc, kg], 2),
            torch.cat([vc, vg], 2),
            mask=inputs.mask,
            bias=inputs.bias,
        )
        xc = xc + mod_c[2] * self.ctx.attn.proj(h[:, :m])
        xg = xg + mod_g[2] * self.x.attn.proj(h[:, m:])
        xc = xc + mod_c[5] * self.ctx.mlp_branch(xc, mod_c[3], mod_c[4], inputs)
        xg = xg + mod_g[5] * self.x.mlp_branch(xg, mod_g[3], mod_g[4], inputs)
        return torch.cat([xc, xg], dim=1)


class FinalLayer(nn.Module):
    """adaLN (shift, scale) then a zero-initialised linear to the output channels."""

    def __init__(self, dim: int, out_dim: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.adaln = nn.Sequential(nn.SiLU(), zero_linear(dim, 2 * dim))
        self.linear = zero_linear(dim, out_dim)

    def forward(self, x: Tensor, inputs: BlockInputs) -> Tensor:
        shift, scale = adaln(self.adaln, inputs.c, inputs.slot, 2)
        return self.linear(modulate(self.norm(x), shift, scale))
