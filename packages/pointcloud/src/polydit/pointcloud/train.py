"""Training a DiT-3D: the spec (``--config`` JSON), the data, the fresh generator and the loss;
core :func:`~polydit.core.train.fit` runs it (``RECIPE``).

The process runs on the normalised clouds ``(B, N, 3)``; the network voxelizes its noisy input
(:class:`~polydit.pointcloud.model.VoxelDiT`). The default is DiT-3D's objective: DDPM
ε-prediction with the 1,000 linear betas 1e-4 → 0.02 (the core's continuous-time form), the
label replaced by the null class with probability ``label_dropout`` (CFG training, DiT-3D's
``class_dropout_prob=0.1``). ``process: "flow"`` (``--process flow``) trains flow matching
(velocity, logit-normal t) on the same network instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, SizedTrainSpec, TrainConfig, TrainData
from polydit.pointcloud.codec import VoxelCodec
from polydit.pointcloud.data import BUILTIN, NUM_POINTS, PointCloudSet, load_dataset
from polydit.pointcloud.model import PRESETS, VoxelDiT, voxel_dit_config
from polydit.pointcloud.pipeline import PointCloudGenerator

PROCESSES = {
    "ddpm": ProcessConfig(kind="gaussian", prediction="eps", schedule="linear"),
    "flow": ProcessConfig(kind="flow_matching", prediction="velocity", t_sampling="logit_normal"),
}
POSITIONS = ("sincos", "rope")
T_SAMPLING = ("logit_normal", "uniform")
CHOICES = {"process": tuple(PROCESSES), "pos_embed": POSITIONS, "t_sampling": T_SAMPLING}
MINIMUMS = {"window": 0, "num_points": 1, "point_features": 0, "point_width": 1}


@dataclass(frozen=True)
class PointCloudSpec(SizedTrainSpec):
    """Everything ``polydit-pointcloud train --config`` can set (unknown keys are an error);
    preset + hidden/depth/heads: the DiT size (:data:`polydit.pointcloud.model.PRESETS`)."""

    presets = PRESETS
    data: str = BUILTIN  # "shapes" or a folder of shape files (--data wins)
    categories: tuple[str, ...] = ()  # classes to train on, in label order; (): every class
    num_points: int = NUM_POINTS  # points per cloud
    resolution: int = 16  # R: voxels per axis
    patch: int = 2  # p: voxels per token side, (R/p)³ tokens
    window: int = 4  # 3D window side in tokens of the alternate blocks; 0: global everywhere
    preset: str = "small"
    pos_embed: str = "sincos"  # sincos (DiT-3D) or rope
    label_dropout: float = 0.1  # null-class probability (CFG)
    process: str = "ddpm"  # "ddpm" or "flow" (PROCESSES)
    t_sampling: str = "logit_normal"  # flow's training times: logit_normal (SD3) or uniform
    point_features: int = 0  # F devoxelized channels into a point branch; 0: none (README A/B)
    point_width: int = 128  # width of the point branch's MLP
    sampling: SamplingConfig = PointCloudGenerator.default_sampling  # stored with the model
    train: TrainConfig = TrainConfig(
        steps=20000, batch_size=16, lr=2e-4, checkpoint_every=250, log_every=25
    )

    def __post_init__(self) -> None:
        if not 0 <= self.label_dropout < 1:
            raise ConfigError(f"label_dropout must be in [0, 1), got {self.label_dropout}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                shown = ", ".join(allowed)
                raise ConfigError(f"{name} must be one of {shown}, got {getattr(self, name)!r}")
        for name, low in MINIMUMS.items():
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be ≥ {low}, got {getattr(self, name)}")
        if self.t_sampling != "logit_normal" and self.process != "flow":
            raise ConfigError(f"t_sampling applies to process 'flow', not {self.process!r}")


def pointcloud_data(spec: PointCloudSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The train split of ``shapes`` or a folder, restricted to the spec's categories."""
    data, skipped = load_dataset(
        source or spec.data, "train", spec.num_points, skip_bad=bool(flags.get("skip_bad"))
    )
    if spec.categories:
        data = data.restricted(spec.categories)
    return TrainData(data, data.name, skipped)


def build(spec: PointCloudSpec, data: PointCloudSet, seed: int) -> PointCloudGenerator:
    """A freshly initialised generator for `data` (its classes and their normalisation), the
    VoxelDiT drawn after seeding with `seed`."""
    means, stds = data.class_statistics()
    codec = VoxelCodec(
        data.num_points, spec.resolution, spec.patch, data.class_names, means, stds, data.name
    )
    torch.manual_seed(seed)
    network = ("window", "pos_embed", "point_features", "point_width")
    options = {name: getattr(spec, name) for name in network}
    config = voxel_dit_config(codec, spec.dit_size(), len(data.class_names), **options)
    model = VoxelDiT(config, codec)
    process = PROCESSES[spec.process]
    if spec.process == "flow":
        process = process.replace(t_sampling=spec.t_sampling)
    process = build_process(process)
    return PointCloudGenerator(model, process, spec.sampling, codec=codec)


def loss(spec: PointCloudSpec, pipeline: PointCloudGenerator) -> LossFn:
    """loss(model, (points (B, N, 3), labels (B,)), generator): the process's MSE per point
    (ε for ddpm, velocity for flow), labels dropped with probability ``label_dropout``."""

    def loss_fn(model: torch.nn.Module, batch: Any, generator: torch.Generator) -> torch.Tensor:
        points, labels = batch
        tokens = pipeline.codec.encode(points)
        cond = Cond(labels=labels).with_dropout(spec.label_dropout, generator)
        return pipeline.process.training_loss(model, tokens, cond, generator)

    return loss_fn


RECIPE = Recipe("pointcloud", PointCloudSpec, PointCloudGenerator, pointcloud_data, build, loss)
