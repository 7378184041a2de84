"""A tiny DiT actually learns: a 2-D Gaussian mixture, measured by MMD against a baseline."""

from __future__ import annotations

import math

import pytest
import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.metrics import mmd_rbf
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import FlowMatching
from polydit.core.tokens import Tokens
from polydit.core.train import TrainConfig, Trainer


def ring(n: int, seed: int, modes: int = 8, radius: float = 2.0, std: float = 0.15) -> torch.Tensor:
    """(n, 1, 2) points from `modes` Gaussians on a circle: one token of 2 channels per sample."""
    g = torch.Generator().manual_seed(seed)
    angle = torch.randint(0, modes, (n,), generator=g) * (2 * math.pi / modes)
    centres = radius * torch.stack([angle.cos(), angle.sin()], -1)
    return (centres + std * torch.randn(n, 2, generator=g))[:, None]


class Points:
    def __init__(self, x: torch.Tensor):
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return self.x[indices]


def train_and_score(tmp_path, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    process = FlowMatching()
    model = DiT(DiTConfig(in_dim=2, hidden=64, depth=2, heads=4, pos_embed="none"))

    def loss_fn(m, batch, g):
        return process.training_loss(m, Tokens(batch), None, g)

    config = TrainConfig(
        steps=steps,
        batch_size=256,
        lr=2e-3,
        warmup_steps=20,
        ema_decay=0.99,
        checkpoint_every=10**6,
    )
    trainer = Trainer(model, loss_fn, Points(ring(8192, seed=0)), config, tmp_path, progress=False)
    trainer.fit()
    samples = Pipeline(
        trainer.ema_model, process, SamplingConfig(steps=20, sampler="heun")
    ).generate(Tokens(torch.zeros(1000, 1, 2)), seed=1)[:, 0]
    test = ring(1000, seed=2)[:, 0]
    train = ring(8192, seed=0)[:, 0]
    baseline = (
        train.mean(0)
        + torch.randn(1000, 2, generator=torch.Generator().manual_seed(3))
        @ torch.linalg.cholesky(torch.cov(train.T)).T
    )  # the best single Gaussian
    return mmd_rbf(samples, test, sigma=0.5), mmd_rbf(baseline, test, sigma=0.5)


def test_tiny_dit_beats_a_gaussian_fit_on_mmd(tmp_path):
    ours, baseline = train_and_score(tmp_path, steps=300)
    assert ours < 0.5 * baseline, (ours, baseline)


@pytest.mark.slow
def test_longer_training_gets_close_to_the_data(tmp_path):
    ours, baseline = train_and_score(tmp_path, steps=3000)
    floor = mmd_rbf(ring(1000, seed=4)[:, 0], ring(1000, seed=2)[:, 0], sigma=0.5)
    assert ours < 0.1 * baseline and ours < 3 * floor + 1e-3, (ours, baseline, floor)
