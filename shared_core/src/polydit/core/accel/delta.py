"""Δ-DiT: cache the deviation the front or the rear group of blocks adds."""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.accel.base import CacheMethod, _positive
from polydit.core.errors import ConfigError


@dataclass
class DeltaDiT(CacheMethod):
    """Δ-DiT (Chen et al. 2024): cache the *deviation* a group of blocks adds. Early in sampling
    (the first `boundary` fraction of steps, where outlines form) the rear blocks are cached;
    later (details) the front blocks. `split` is the number of front blocks (default half);
    the cache is refreshed every `interval` evaluations."""

    interval: int = 2
    boundary: float = 0.5
    split: int = 0

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if not 0 <= self.boundary <= 1:
            raise ConfigError(
                f"--cache-opts boundary={self.boundary}: expected a fraction in [0, 1]"
            )

    def run(self, blocks, h, inputs, ctx, state, usage):
        split = self.split or len(blocks) // 2
        if not 0 < split < len(blocks):
            raise ConfigError(f"--cache-opts split={split}: expected 1..{len(blocks) - 1}")
        front, rear = blocks[:split], blocks[split:]
        if state.calls % self.interval == 0 or "front" not in state.store:
            mid = h
            for b in front:
                mid = b(mid, inputs)
            out = mid
            for b in rear:
                out = b(out, inputs)
            state.store["front"], state.store["rear"] = mid - h, out - mid
            usage.computed += len(blocks)
            usage.total += len(blocks)
            return out
        usage.total += len(blocks)
        early = ctx.index < self.boundary * ctx.num_steps
        if early:  # compute the front (outline) blocks, reuse the rear deviation
            for b in front:
                h = b(h, inputs)
            usage.computed += len(front)
            return h + state.store["rear"]
        h = h + state.store["front"]
        for b in rear:
            h = b(h, inputs)
        usage.computed += len(rear)
        return h
