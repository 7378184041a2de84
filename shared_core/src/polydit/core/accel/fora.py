"""FORA: reuse every block's attention/MLP features between periodic full evaluations."""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.accel import features as F
from polydit.core.accel.base import CacheMethod, _compute_all, _positive


@dataclass
class Fora(CacheMethod):
    """FORA (Selvaraju et al. 2024): compute every block at every `interval`-th evaluation and
    reuse each block's attention/MLP features in between. interval = 1 is the uncached model."""

    interval: int = 2

    def __post_init__(self) -> None:
        _positive("interval", self.interval)

    def run(self, blocks, h, inputs, ctx, state, usage):
        if state.calls % self.interval == 0 or "feats" not in state.store:
            h, state.store["feats"] = _compute_all(blocks, h, inputs, usage)
            return h
        usage.total += len(blocks)
        for block, f in zip(blocks, state.store["feats"], strict=True):
            h = F.reuse(block, h, inputs, f)
        return h
