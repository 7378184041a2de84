"""The ring domain's library: codec, generator and training recipe.

A sample is a set of `points` 2-D points near the unit circle. The domain supplies data, a codec
and a loss; core supplies the DiT, flow matching, sampling, training (`fit`), the run folder,
checkpoints and export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import DataError
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import FlowMatching
from polydit.core.tokens import Tokens
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData, TrainSpec


@dataclass(frozen=True)
class PointCodec(JsonConfig):
    """Point sets (B, P, 2) ↔ Tokens x (B, P, 2): one token per point, no positions (a set)."""

    points: int = 8

    def encode(self, batch: Tensor) -> Tokens:
        return Tokens(batch)

    def decode(self, x: Tensor, template: Tokens | None = None) -> np.ndarray:
        return x.numpy()

    def template(self, num: int) -> Tokens:
        return Tokens(torch.zeros(num, self.points, 2))


class RingGenerator(Pipeline):
    """``sample(num, seed) -> (num, P, 2)`` point sets; sample i depends on seed + i only."""

    package = "polydit-core"  # an example inside the core tests saves as the core package
    codec_type = PointCodec

    def sample(self, num: int, seed: int = 0, **overrides: Any) -> np.ndarray:
        template = self.codec.template(num)
        return self.codec.decode(self.generate(template, seed=seed, **overrides), template)


def ring(num: int, points: int, seed: int) -> Tensor:
    """(num, points, 2) points at uniform angles on the unit circle, radius noise 0.05."""
    g = torch.Generator().manual_seed(seed)
    angle = 2 * torch.pi * torch.rand(num, points, generator=g)
    radius = 1 + 0.05 * torch.randn(num, points, generator=g)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=-1)


def ring_distance(points: np.ndarray) -> float:
    """Mean |‖p‖ − 1| over every point: 0 on the ring."""
    return float(np.abs(np.linalg.norm(points, axis=-1) - 1).mean())


@dataclass(frozen=True)
class RingTrainSpec(TrainSpec):
    """What ``train --config`` sets: the codec, the DiT width and depth, the optimiser."""

    codec: PointCodec = field(default_factory=PointCodec)
    hidden: int = 32
    depth: int = 2
    train: TrainConfig = TrainConfig(
        steps=200, batch_size=32, lr=2e-3, warmup_steps=0, ema_decay=0.9999, checkpoint_every=50
    )


def ring_data(spec: RingTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The built-in set: 512 point sets (seed 1)."""
    if source not in (None, "ring"):
        raise DataError(f"--data {source}: this domain knows only the built-in 'ring'")
    return TrainData(ring(512, spec.codec.points, seed=1), "ring")


def build(spec: RingTrainSpec, dataset: Tensor, seed: int) -> RingGenerator:
    """A fresh generator: a set DiT (no positions) under flow matching, weights from `seed`."""
    torch.manual_seed(seed)
    config = DiTConfig(in_dim=2, hidden=spec.hidden, depth=spec.depth, heads=2, pos_embed="none")
    return RingGenerator(DiT(config), FlowMatching(), SamplingConfig(steps=10), codec=spec.codec)


def loss(spec: RingTrainSpec, pipeline: RingGenerator) -> LossFn:
    """Flow matching on the codec's tokens."""

    def loss_fn(model: torch.nn.Module, batch: Tensor, generator: torch.Generator) -> Tensor:
        return pipeline.process.training_loss(model, pipeline.codec.encode(batch), None, generator)

    return loss_fn


RECIPE = Recipe("ring", RingTrainSpec, RingGenerator, ring_data, build, loss)
