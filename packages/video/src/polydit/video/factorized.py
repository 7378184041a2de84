"""Latte-style factorized attention (variant 1: interleaved spatial and temporal blocks).

The core DiT has full attention only. Here each core :class:`DiTBlock` is replaced by a
:class:`FactorizedBlock` with the same parameters (so checkpoints keep their names and a
factorized model loads like a full one): even blocks attend within a frame (spatial, over
``(b t) s``), odd blocks across frames at one spatial location (temporal, over ``(b s) t``).
adaLN modulation, the MLP and the 3-axis RoPE are unchanged; the RoPE angles are regrouped with
the tokens, so relative positions still drive attention inside each group.
"""

from __future__ import annotations

from einops import rearrange
from torch import Tensor

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.nn.blocks import BlockInputs, DiTBlock, modulate
from polydit.video.codec import VideoCodec

AXES = ("spatial", "temporal")


class FactorizedBlock(DiTBlock):
    """A DiT block whose attention runs within frames (`axis="spatial"`) or across frames
    (`axis="temporal"`) of a time-major token sequence with `frames` temporal patches."""

    def __init__(self, *args, axis: str, frames: int, **kwargs):
        super().__init__(*args, **kwargs)
        if axis not in AXES:
            raise ConfigError(f"FactorizedBlock axis must be one of {AXES}, got {axis!r}")
        self.axis, self.frames = axis, frames

    def _group(self, x: Tensor) -> Tensor:
        if self.axis == "spatial":
            return rearrange(x, "b (t s) ... -> (b t) s ...", t=self.frames)
        return rearrange(x, "b (t s) ... -> (b s) t ...", t=self.frames)

    def _ungroup(self, x: Tensor, batch: int) -> Tensor:
        if self.axis == "spatial":
            return rearrange(x, "(b t) s ... -> b (t s) ...", b=batch)
        return rearrange(x, "(b s) t ... -> b (t s) ...", b=batch)

    def attn_branch(self, x: Tensor, shift: Tensor, scale: Tensor, inputs: BlockInputs) -> Tensor:
        if inputs.mask is not None or inputs.bias is not None or inputs.num_context:
            raise ConfigError("factorized attention supports no padding mask, bias or context")
        h = self._group(modulate(self.norm1(x), shift, scale))
        rope = None
        if inputs.rope is not None:  # (B, 1, N, d) → (B·groups, 1, n, d)
            rope = tuple(
                self._group(r.squeeze(1).expand(x.shape[0], -1, -1)).unsqueeze(1)
                for r in inputs.rope
            )
        return self._ungroup(self.attn(h, rope), x.shape[0])


def factorize(model: DiT, codec: VideoCodec) -> DiT:
    """Replace `model`'s blocks in place by interleaved spatial/temporal factorized blocks."""
    cfg = model.config
    if cfg.context_dim or cfg.moe is not None:
        raise ConfigError("factorized attention is implemented for plain DiT blocks only")
    frames = codec.grid[0]
    for i, old in enumerate(model.blocks):
        if isinstance(old, FactorizedBlock):
            continue
        new = FactorizedBlock(
            cfg.hidden,
            cfg.heads,
            cfg.mlp_ratio,
            cfg.qk_norm,
            None,
            cfg.norm_eps,
            axis=AXES[i % 2],
            frames=frames,
        )
        new.load_state_dict(old.state_dict())
        model.blocks[i] = new.to(next(old.parameters()).device)
    return model
