"""The joint DiT: one network for molecules (class label 0) and crystals (label 1).

Core DiT with ``num_classes=2`` (the dataset-type condition, ADiT's), a fixed sin-cos embedding
of ``Tokens.pos`` (slot token 0 vs atoms 1, as in the crystal model) and optionally the
molecule model's distance pair head (:mod:`polydit.molecule.pair_bias`), applied to molecule
rows only: Cartesian distances mean nothing between fractional coordinates, so crystal rows get
no bias — each kind sees the architecture of its single-domain model.
"""

from __future__ import annotations

from torch import Tensor

from polydit.core.dit import DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.joint_codec import LABELS, JointCodec
from polydit.molecule.model import PRESETS
from polydit.molecule.pair_bias import PairBiasDiT


def joint_dit_config(
    codec: JointCodec,
    preset: str = "small",
    *,
    hidden: int | None = None,
    depth: int | None = None,
    heads: int | None = None,
) -> DiTConfig:
    """A DiT over joint tokens (in = out = 3 + K + 6 channels) with the two kind labels."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    size = dict(PRESETS[preset])
    size.update({k: v for k, v in (("hidden", hidden), ("depth", depth), ("heads", heads)) if v})
    return DiTConfig(
        in_dim=codec.channels,
        pos_embed="sincos",
        pos_axes=1,
        qk_norm=True,
        num_classes=len(LABELS),
        **size,
    )


class JointPairBiasDiT(PairBiasDiT):
    """PairBiasDiT whose distance bias is kept only for rows labelled molecule."""

    def prepare(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ):
        if bias is None:
            bias = self.pair(tokens.x[..., : self.coord_dims], t)
            labels = None if cond is None else cond.labels
            if labels is None:
                raise ConfigError("the joint model needs Cond.labels (0 molecule, 1 crystal)")
            keep = (labels == LABELS["molecule"]).to(bias.dtype)
            bias = bias * keep.reshape(-1, 1, 1, 1)
        return super().prepare(tokens, t, cond, bias)
