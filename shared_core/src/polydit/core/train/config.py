"""`TrainConfig`: every knob of the Trainer, a frozen dataclass with JSON round-trip."""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError

SCHEDULES = ("cosine", "constant")
DTYPES = ("fp32", "bf16", "auto")  # auto: bf16 autocast where native (precision_choice)
PARALLEL = ("ddp", "fsdp")  # see polydit.core.train.distributed.sharding


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """Optimisation, precision, checkpointing and logging settings of one training run.

    Step numbers are 1-based: step `s` is the s-th optimizer step; `steps` is the last one.
    `batch_size` is the GLOBAL batch of one optimizer step, split into `world_size * grad_accum`
    equal micro-batches. `ema_warmup` replaces `ema_decay` by `min(ema_decay, (1 + s) / (10 + s))`
    after step `s`, so short runs still get a useful EMA. `seed` fixes the data order and every
    micro-batch's randomness (see `polydit.core.train.data`). The defaults of `warmup_steps`,
    `ema_decay` and `log_every` are what every domain's recipe of a few thousand steps uses.
    `dtype` is the forward's precision over fp32 master weights: "bf16" autocast, "fp32", or
    "auto" — bf16 where the device computes it natively, else fp32
    (:func:`polydit.core.precision_choice.resolve_dtype`), resolved when the Trainer starts, so a
    run resumed on another machine takes that machine's choice. `parallel` is the layout under `torchrun`: "ddp" (every rank holds the whole model) or
    "fsdp" (FSDP2: parameters, gradients and optimizer state sharded over the ranks); a
    one-process run ignores it.
    """

    steps: int = 1000
    batch_size: int = 64
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 200
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0
    ema_decay: float = 0.999
    ema_warmup: bool = True
    grad_clip: float | None = 1.0
    dtype: str = "fp32"
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    seed: int = 0
    parallel: str = "ddp"

    def __post_init__(self) -> None:
        checks = [
            ("steps", self.steps >= 0, "an integer >= 0"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("grad_accum", self.grad_accum >= 1, "an integer >= 1"),
            ("lr", self.lr >= 0, "a number >= 0"),
            ("weight_decay", self.weight_decay >= 0, "a number >= 0"),
            (
                "betas",
                len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas),
                "two numbers in [0, 1)",
            ),
            ("warmup_steps", self.warmup_steps >= 0, "an integer >= 0"),
            ("schedule", self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
            ("min_lr_ratio", 0 <= self.min_lr_ratio <= 1, "a number in [0, 1]"),
            ("ema_decay", 0 <= self.ema_decay <= 1, "a number in [0, 1]"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "None or a number > 0"),
            ("dtype", self.dtype in DTYPES, f"one of {', '.join(DTYPES)}"),
            ("checkpoint_every", self.checkpoint_every >= 1, "an integer >= 1"),
            ("keep_checkpoints", self.keep_checkpoints >= 1, "an integer >= 1"),
            ("log_every", self.log_every >= 1, "an integer >= 1"),
            ("seed", self.seed >= 0, "an integer >= 0"),
            ("parallel", self.parallel in PARALLEL, f"one of {', '.join(PARALLEL)}"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError(
                    f"TrainConfig.{name}: expected {expected}, got {getattr(self, name)!r}"
                )
