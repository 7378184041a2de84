"""Training: the one `Trainer` every domain uses (single process or `torchrun`).

    trainer = Trainer(model, loss_fn, dataset, TrainConfig(steps=2000, batch_size=64), "runs/x")
    result = trainer.fit(resume=True)     # TrainResult(step, loss, wall_time, checkpoint)
    trainer.ema_model                     # the EMA weights to ship

`loss_fn(model, batch, generator)` returns a scalar loss or {"loss": ..., other scalars}; it
draws all of its randomness from `generator`, which is seeded by (seed, step, micro-batch).
"""

from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.core.train.config import TrainConfig
from polydit.core.train.data import Batch, default_collate
from polydit.core.train.ema import EMA, ema_decay_at
from polydit.core.train.schedule import lr_at
from polydit.core.train.trainer import LossFn, Trainer, TrainResult
from polydit.core.train.warm_start import resolve_pretrained, warm_start

__all__ = [
    "EMA",
    "Batch",
    "LossFn",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "default_collate",
    "ema_decay_at",
    "list_checkpoints",
    "load_checkpoint",
    "lr_at",
    "resolve_pretrained",
    "warm_start",
]
