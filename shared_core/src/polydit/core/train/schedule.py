"""Learning-rate schedule as a pure function of the step (nothing to checkpoint)."""

from __future__ import annotations

import math

from polydit.core.train.config import TrainConfig


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate used by optimizer step `step` (1-based).

    Linear warm-up: `lr * step / warmup_steps` for `step <= warmup_steps`. Then "constant" keeps
    `lr`; "cosine" decays from `lr` at step `warmup_steps + 1` to `min_lr_ratio * lr` at the last
    step `config.steps`, following `min + (lr - min) * (1 + cos(pi * p)) / 2` with
    `p = (step - warmup_steps - 1) / (steps - warmup_steps - 1)`.
    """
    warmup = config.warmup_steps
    if step <= warmup:
        return config.lr * step / warmup
    if config.schedule == "constant":
        return config.lr
    floor = config.min_lr_ratio * config.lr
    span = config.steps - warmup - 1
    progress = min(1.0, (step - warmup - 1) / span) if span > 0 else 0.0
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
