"""The FSDP job of test_fsdp: a tiny DiT, its data and loss, and `rank_main`, one of 2 gloo ranks.

The ranks are forked from the test process (torch is imported once, not three times as under
torchrun) and set the environment torchrun would. `rank_main` trains, in OUT: `fsdp/` (STEPS uninterrupted FSDP steps), `resumed/` (FSDP, resumed from
the step-KILLED checkpoint of `fsdp/`, as after a kill right after it) and `from_single/` (FSDP,
resumed from the step-KILLED checkpoint of the one-process run in S); `shards.json`, each
rank's number of parameter elements after sharding and the model's total; and `unused/`,
train_script's TinyNet under FSDP, whose `null` parameter some ranks' forwards do not use.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.fsdp import FSDPModule

from polydit.core.dit import DiT, DiTConfig
from polydit.core.tokens import Cond, Tokens
from polydit.core.train import TrainConfig, Trainer
from polydit.core.train.checkpoint import checkpoint_path

_spec = importlib.util.spec_from_file_location(
    "polydit_train_script", Path(__file__).with_name("train_script.py")
)
assert _spec is not None and _spec.loader is not None
train_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_script)

STEPS, KILLED, CHANNELS, TOKENS, CLASSES = 6, 3, 4, 6, 3


class LabelledSets:
    """N sets of TOKENS tokens {"x": (TOKENS, CHANNELS), "y": () class id}; `batch` fast path."""

    def __init__(self, n: int = 32, seed: int = 1) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(CLASSES, (n,), generator=g)
        self.x = torch.randn(n, TOKENS, CHANNELS, generator=g) + self.y[:, None, None]

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: Tensor) -> dict[str, Tensor]:
        return {"x": self.x[indices], "y": self.y[indices]}


def loss_fn(model: nn.Module, batch: dict[str, Tensor], g: torch.Generator) -> Tensor:
    """Rectified-flow velocity MSE; t, noise and a third of labels dropped, all drawn from `g`."""
    x, y = batch["x"], batch["y"]  # (B, N, C), (B,)
    t = torch.rand(x.shape[0], generator=g)  # (B,)
    noise = torch.randn(x.shape, generator=g)
    drop = torch.rand(x.shape[0], generator=g) < 1 / 3
    xt = (1 - t[:, None, None]) * x + t[:, None, None] * noise  # (B, N, C)
    pred = model(Tokens(xt), t, Cond(labels=y, dropped=drop))  # (B, N, C)
    return ((pred - (noise - x)) ** 2).mean()


def make_trainer(out: str | Path, **overrides: object) -> Trainer:
    """A Trainer over a 2-block DiT (init seed 0) on LabelledSets(), global batch 8."""
    torch.manual_seed(0)
    arch = DiTConfig(CHANNELS, hidden=32, depth=2, heads=2, pos_embed="none", num_classes=CLASSES)
    cfg = {"steps": STEPS, "batch_size": 8, "lr": 3e-3, "warmup_steps": 2, "ema_decay": 0.9}
    cfg |= {"checkpoint_every": KILLED, "keep_checkpoints": 10, "log_every": 1, "seed": 5}
    cfg |= overrides
    return Trainer(DiT(arch), loss_fn, LabelledSets(), TrainConfig(**cfg), out, progress=False)


def copy_killed(source: Path, target: Path) -> None:
    """A run folder holding only `source`'s step-KILLED checkpoint (a kill right after it)."""
    (target / "checkpoints").mkdir(parents=True)
    name = checkpoint_path(Path(), KILLED).name
    shutil.copy(source / "checkpoints" / name, target / "checkpoints" / name)


def rank_main(rank: int, world_size: int, port: int, out: Path, single: Path) -> None:
    """One rank of the job (a forked process: the variables torchrun would set, then the job)."""
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    os.environ |= {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size)}
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    fsdp = {"parallel": "fsdp", "grad_accum": 2}  # 2 ranks x 2 = 4 micro-batches per step
    trainer = make_trainer(out / "fsdp", **fsdp)
    total = sum(p.numel() for p in trainer.model.parameters())
    trainer.fit()
    assert isinstance(trainer.model, FSDPModule)
    local = sum(p.to_local().numel() for p in trainer.model.parameters())
    shards: list[int | None] = [None] * world_size
    dist.all_gather_object(shards, local)
    if rank == 0:
        (out / "shards.json").write_text(json.dumps({"local": shards, "total": total}))
    for name, source in (("resumed", out / "fsdp"), ("from_single", single)):
        if rank == 0:
            copy_killed(source, out / name)
        dist.barrier()
        make_trainer(out / name, **fsdp).fit(resume=True)
    train_script.make_trainer(out / "unused", parallel="fsdp").fit()
    dist.destroy_process_group()
