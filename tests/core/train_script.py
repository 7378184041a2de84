"""Tiny training job for the Trainer tests: importable helpers, and `main` for torchrun.

python -m torch.distributed.run --standalone --nproc_per_node 2 train_script.py --out DIR
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from polydit.core.train import TrainConfig, Trainer

IN, HIDDEN, OUT = 4, 16, 2


class TinyNet(nn.Module):
    """MLP regressor (B, 4) → (B, 2); `null` replaces the hidden state of dropped rows, so it is
    unused by any forward whose micro-batch drops nothing (like a CFG null-class embedding)."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(IN, HIDDEN)
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(HIDDEN, OUT))
        self.null = nn.Parameter(torch.zeros(HIDDEN))
        self.out_features = OUT  # read by loss_fn, also through the DDP wrapper

    def forward(self, x: Tensor, drop: Tensor) -> Tensor:
        h = self.inp(x)
        if drop.any():
            h = torch.where(drop[:, None], self.null.expand_as(h), h)
        return self.out(h)


class Regression:
    """N samples {"x": (4,), "y": (2,)} with y linear in x; `batch(indices)` is the fast path."""

    def __init__(self, n: int = 40, seed: int = 1) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, IN, generator=g)
        self.y = self.x @ torch.randn(IN, OUT, generator=g) + 0.5

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.x[i], "y": self.y[i]}

    def batch(self, indices: Tensor) -> dict[str, Tensor]:
        return {"x": self.x[indices], "y": self.y[indices]}


class ItemsOnly:
    """The same samples without `batch`, so the Trainer fetches items and collates."""

    def __init__(self, data: Regression) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return self.data[i]


SLEEP = 0.0  # seconds per micro-batch, so a test can signal a run mid-way


def loss_fn(model: nn.Module, batch: dict[str, Tensor], g: torch.Generator) -> dict[str, Tensor]:
    """MSE on inputs jittered with noise from `g`, a quarter of rows "label-dropped" via `g`."""
    x, y = batch["x"], batch["y"]
    noise = 0.1 * torch.randn(x.shape, generator=g, device=x.device)
    drop = torch.rand(x.shape[0], generator=g, device=x.device) < 0.25
    if SLEEP:
        time.sleep(SLEEP)
    pred = model(x + noise, drop)
    assert pred.shape[-1] == model.out_features
    return {"loss": ((pred - y) ** 2).mean(), "drop_rate": drop.float().mean()}


def make_trainer(out: str | Path, *, progress: bool = False, **overrides: object) -> Trainer:
    """A Trainer over TinyNet (init seed 0) and Regression() with small defaults."""
    torch.manual_seed(0)
    cfg = {"steps": 12, "batch_size": 8, "lr": 1e-2, "warmup_steps": 2, "ema_decay": 0.9}
    cfg |= {"checkpoint_every": 5, "keep_checkpoints": 10, "log_every": 1, "seed": 3}
    cfg |= overrides
    dataset = cfg.pop("dataset", None) or Regression()
    return Trainer(TinyNet(), loss_fn, dataset, TrainConfig(**cfg), out, progress=progress)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    torch.set_num_threads(1)
    make_trainer(p.parse_args().out).fit()


if __name__ == "__main__":
    main()
