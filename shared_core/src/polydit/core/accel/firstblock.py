"""First-block cache: reuse the other blocks' residual while the first block's barely changes."""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.accel.base import CacheMethod
from polydit.core.errors import ConfigError


@dataclass
class FirstBlockCache(CacheMethod):
    """Adaptive reuse (FBCache / TeaCache style): always compute the first block; if its residual
    changed by less than `threshold` (relative L1 to the last fully computed evaluation), reuse
    the remaining blocks' total residual, else compute them and refresh it. threshold = 0 is the
    uncached model."""

    threshold: float = 0.1

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ConfigError(f"--cache-opts threshold={self.threshold}: expected ≥ 0")

    def run(self, blocks, h, inputs, ctx, state, usage):
        first = blocks[0](h, inputs)
        residual = first - h
        usage.total += len(blocks)
        previous = state.store.get("first")
        if previous is not None and self.threshold > 0:
            change = (residual - previous).abs().mean() / previous.abs().mean().clamp_min(1e-12)
            if change.item() < self.threshold:
                usage.computed += 1
                return first + state.store["rest"]
        out = first
        for b in blocks[1:]:
            out = b(out, inputs)
        usage.computed += len(blocks)
        state.store["first"], state.store["rest"] = residual, out - first
        return out
