"""The joint DiT: one network for molecules (class label 0) and crystals (label 1).

Core DiT with ``num_classes=2`` (the dataset-type condition, ADiT's) and a fixed sin-cos
embedding of ``Tokens.pos`` (slot token 0 vs atoms 1, as in the crystal model), plus two
per-row rules keyed by the label:

- kind channels (``JointCodec.kind_channels``; ``channel_masks``, (2, C) —
  :meth:`JointCodec.channel_mask`): the network reads only the channels of a row's kind (a
  molecule's input is zeroed outside its 3 coordinates + 5 element channels), so a molecule row
  is the single QM9 model's problem; the training loss gives those channels zero noise, so their
  target is zero. All ones = every channel is read (the first joint run, see the README);
- the molecule model's distance pair head (:mod:`polydit.molecule.pair_bias`) on molecule rows
  only: distances between fractional coordinates mean nothing, and the crystal model has none.
"""

from __future__ import annotations

import torch
from torch import Tensor

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.codec import COORD_DIMS
from polydit.molecule.joint.codec import KINDS, LABELS, JointCodec
from polydit.molecule.pair_bias import PairBias


def joint_dit_config(codec: JointCodec, size: dict[str, int]) -> DiTConfig:
    """A DiT over joint tokens (in = out = 3 + K + 6 channels) at `size` (hidden/depth/heads, e.g.
    a :data:`~polydit.molecule.model.PRESETS` entry) with the two kind labels."""
    return DiTConfig(
        in_dim=codec.channels,
        pos_embed="sincos",
        pos_axes=1,
        qk_norm=True,
        num_classes=len(LABELS),
        **size,
    )


def channel_masks(codec: JointCodec) -> Tensor:
    """(2, C) float: row `label` = the channels a row of that kind reads (all without
    ``codec.kind_channels``)."""
    if not codec.kind_channels:
        return torch.ones(len(KINDS), codec.channels)
    return torch.stack([codec.channel_mask(k).float() for k in KINDS])


class JointDiT(DiT):
    """DiT + the per-kind channel mask + the pair head on molecule rows (see module docstring)."""

    def __init__(self, config: DiTConfig, masks: Tensor, pair_bias: bool = True):
        super().__init__(config)
        if masks.shape != (len(KINDS), config.in_dim):
            raise ConfigError(f"channel masks need shape (2, {config.in_dim}), got {masks.shape}")
        self.register_buffer("channel_masks", masks.float(), persistent=False)
        self.pair = PairBias(config.heads) if pair_bias else None

    def prepare(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ):
        labels = None if cond is None else cond.labels
        if labels is None:
            raise ConfigError("the joint model needs Cond.labels (0 molecule, 1 crystal)")
        keep = self.channel_masks[labels].to(tokens.x.dtype)
        tokens = tokens.with_x(tokens.x * keep[:, None, :])
        if bias is None and self.pair is not None:
            molecule = (labels == LABELS["molecule"]).to(tokens.x.dtype)
            bias = self.pair(tokens.x[..., :COORD_DIMS], t) * molecule.reshape(-1, 1, 1, 1)
        return super().prepare(tokens, t, cond, bias)
