"""Training: `fit` (a domain's `Recipe` → a run folder and a pretrained model) over the one
`Trainer` every domain uses (single process or `torchrun`).

    fitted = fit(RECIPE, spec, data, RunOptions(out=Path("runs/x")))  # see train.recipe

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
from polydit.core.train.recipe import (
    Fitted,
    Recipe,
    RunOptions,
    TrainData,
    TrainSpec,
    codec_checked_warm_start,
    export,
    fit,
    from_run,
    read_run,
)
from polydit.core.train.schedule import lr_at
from polydit.core.train.size import SizedTrainSpec
from polydit.core.train.trainer import LossFn, Trainer, TrainResult
from polydit.core.train.warm_start import warm_start

__all__ = [
    "EMA",
    "Batch",
    "Fitted",
    "LossFn",
    "Recipe",
    "RunOptions",
    "SizedTrainSpec",
    "TrainConfig",
    "TrainData",
    "TrainResult",
    "TrainSpec",
    "Trainer",
    "codec_checked_warm_start",
    "default_collate",
    "ema_decay_at",
    "export",
    "fit",
    "from_run",
    "list_checkpoints",
    "load_checkpoint",
    "lr_at",
    "read_run",
    "warm_start",
]
