"""What caches store per block: the pre-gate branch outputs of a DiT block (TaylorSeer-DiT's
choice: the adaLN modulation is recomputed every step, only the expensive attention and MLP
outputs are reused), or the whole residual for other blocks (MM-DiT joint blocks)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from polydit.core.nn.blocks import BlockInputs, DiTBlock

Features = tuple[Tensor, ...]


def compute(block: nn.Module, h: Tensor, inputs: BlockInputs) -> tuple[Tensor, Features]:
    """Run `block` exactly as its forward does; also return what a cache keeps."""
    if isinstance(block, DiTBlock):
        shift1, scale1, gate1, shift2, scale2, gate2 = block.modulation(inputs)
        attn = block.attn_branch(h, shift1, scale1, inputs)
        x = h + gate1 * attn
        mlp = block.mlp_branch(x, shift2, scale2, inputs)
        return x + gate2 * mlp, (attn, mlp)
    out = block(h, inputs)
    return out, (out - h,)


def reuse(block: nn.Module, h: Tensor, inputs: BlockInputs, features: Features) -> Tensor:
    """Apply cached (or forecast) features to `h` with this step's fresh modulation."""
    if isinstance(block, DiTBlock):
        _, _, gate1, _, _, gate2 = block.modulation(inputs)
        attn, mlp = features
        return torch.addcmul(h, gate1, attn).addcmul_(gate2, mlp)
    return h + features[0]
