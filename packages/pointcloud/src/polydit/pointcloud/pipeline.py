"""`PointCloudGenerator`: VoxelCodec + VoxelDiT + process, class-conditional sampling with CFG.

``PointCloudGenerator.from_pretrained(path).sample(4, label="chair", seed=0)`` →
:class:`PointCloudSamples` whose ``points`` are ``(4, N, 3)`` float32 clouds in the training
data's units (de-normalised with the class statistics the codec stores). Sample i depends only on
seed + i; labels omitted are drawn uniformly from `seed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import trimesh
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.names import name_index
from polydit.core.pipeline import Pipeline, SamplingConfig, seeded_labels
from polydit.core.tokens import Cond
from polydit.pointcloud.codec import VoxelCodec
from polydit.pointcloud.model import VoxelDiT, VoxelDiTConfig

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
SAMPLE_CHUNK = 64  # clouds per sampler call


@dataclass(frozen=True)
class PointCloudSamples:
    """points (B, N, 3) float32 numpy, x y z in the training data's units, or in the
    class-normalised frame of training (the class mean removed, divided by its std) when
    `normalised`; labels: the class name of each cloud (B,)."""

    points: np.ndarray
    labels: tuple[str, ...]
    normalised: bool = False

    def to_trimesh(self) -> list[trimesh.PointCloud]:
        """One ``trimesh.PointCloud`` per cloud (:func:`to_point_clouds`)."""
        return to_point_clouds(self.points)


class PointCloudGenerator(Pipeline):
    """A :class:`VoxelDiT` with its :class:`VoxelCodec` (layout, class names, statistics)."""

    package = "polydit-pointcloud"
    codec_type = VoxelCodec
    model_config_type = VoxelDiTConfig
    default_sampling: ClassVar[SamplingConfig] = SamplingConfig(steps=50, sampler="ddim")
    shipped_root = PRETRAINED if PRETRAINED.is_dir() else None
    codec: VoxelCodec
    model: VoxelDiT

    @classmethod
    def build_model(cls, config: VoxelDiTConfig, codec: dict[str, Any]) -> VoxelDiT:  # type: ignore[override]
        return VoxelDiT(config, VoxelCodec.from_dict(codec, "codec"))

    def configure(self) -> None:
        if self.codec is None or self.model.codec != self.codec:
            raise ConfigError("PointCloudGenerator: the model was built for another codec layout")
        if self.model.config.num_classes != len(self.codec.class_names):
            raise ConfigError(
                f"the model has {self.model.config.num_classes} classes, the codec names "
                f"{len(self.codec.class_names)}"
            )

    def label_index(self, label: str | int) -> int:
        """A class id from a class name or an integer id."""
        return name_index(label, self.codec.class_names, argument="label")

    def labels_for(self, num: int, label: str | int | None, seed: int) -> Tensor:
        """(num,) class ids: `label` repeated, or uniform when None (id i from seed + i)."""
        if label is not None:
            return torch.full((num,), self.label_index(label), dtype=torch.long)
        return seeded_labels(num, len(self.codec.class_names), seed)

    @torch.no_grad()
    def sample(
        self,
        num: int,
        label: str | int | None = None,
        *,
        seed: int = 0,
        dtype: str = "fp32",
        normalised: bool = False,
        **overrides: Any,
    ) -> PointCloudSamples:
        """`num` clouds (:class:`PointCloudSamples`, points (num, N, 3)), de-normalised unless
        `normalised`; overrides: steps, sampler, cfg_scale, shift."""
        labels = self.labels_for(num, label, seed)
        chunks = []
        for start in range(0, num, SAMPLE_CHUNK):
            part = labels[start : start + SAMPLE_CHUNK]
            template = self.codec.template(len(part))
            x = self.generate(
                template, Cond(labels=part), seed=seed + start, dtype=dtype, **overrides
            )
            points = self.codec.decode(x, template).cpu()
            chunks.append(points if normalised else self.codec.denormalise(points, part))
        names = self.codec.class_names
        return PointCloudSamples(
            torch.cat(chunks).numpy(), tuple(names[int(k)] for k in labels), normalised
        )


def to_point_clouds(points: Tensor | np.ndarray) -> list[trimesh.PointCloud]:
    """(B, N, 3) clouds → one ``trimesh.PointCloud`` each."""
    return [trimesh.PointCloud(np.asarray(cloud, dtype=np.float64)) for cloud in np.asarray(points)]
