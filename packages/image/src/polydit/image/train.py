"""Training an image DiT: the spec (``--config`` JSON), the data, the fresh generator and the loss;
core :func:`~polydit.core.train.fit` runs it (``RECIPE``).

The loss is the core process's masked MSE on patch tokens, with the class label replaced by the
null class with probability ``label_dropout`` (classifier-free guidance training, as DiT does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.text_encoder import ENCODER_NAME, FEATURE_DIM
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, SizedTrainSpec, TrainConfig, TrainData
from polydit.image.codec import PatchCodec
from polydit.image.data import ImageSet, load_dataset
from polydit.image.model import PRESETS, image_dit_config
from polydit.image.pipeline import ImageGenerator
from polydit.image.text import caption_features

PROCESSES = {
    "flow": ProcessConfig(kind="flow_matching", prediction="velocity", t_sampling="logit_normal"),
    "ddpm": ProcessConfig(kind="gaussian", prediction="eps", schedule="linear"),
}


@dataclass(frozen=True)
class ImageTrainSpec(SizedTrainSpec):
    """Everything ``polydit-image train --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (see :data:`polydit.image.model.PRESETS`).
    patch: patch size; size/channels: the image size of folder data (built-ins fix their own).
    label_dropout: probability of the null class in training (CFG).
    prompts: text models only — how class names become captions ("{}" is the class name).
    """

    presets = PRESETS
    preset: str = "digits"
    patch: int = 2
    size: int = 32
    channels: int = 1
    label_dropout: float = 0.1
    text: bool = False
    prompts: tuple[str, ...] = ("a handwritten {}",)
    process: ProcessConfig = PROCESSES["flow"]
    sampling: SamplingConfig = SamplingConfig(steps=12, sampler="heun", cfg_scale=1.15)
    train: TrainConfig = TrainConfig(steps=3500, batch_size=64, lr=5e-4, checkpoint_every=250)

    def __post_init__(self) -> None:
        if not 0 <= self.label_dropout < 1:
            raise ConfigError(f"label_dropout must be in [0, 1), got {self.label_dropout}")


def image_data(spec: ImageTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The train split of a built-in set (default digits) or a folder at the spec's size."""
    data, skipped = load_dataset(
        source, "train", spec.size, spec.channels, flags.get("skip_bad", False)
    )
    return TrainData(data, data.name, [f"{path}: not a readable image" for path in skipped])


def build(spec: ImageTrainSpec, data: ImageSet, seed: int) -> ImageGenerator:
    """A freshly initialised generator for `data`, its DiT drawn after seeding with `seed`."""
    c, h, w = data.shape
    encoder = ENCODER_NAME if spec.text else None
    codec = PatchCodec(c, h, w, spec.patch, data.class_names, encoder, data.name)
    torch.manual_seed(seed)
    config = image_dit_config(
        codec,
        spec.dit_size(),
        num_classes=0 if spec.text else len(data.class_names),
        context_dim=FEATURE_DIM if spec.text else 0,
    )
    return ImageGenerator(DiT(config), build_process(spec.process), spec.sampling, codec=codec)


def loss(spec: ImageTrainSpec, pipeline: ImageGenerator) -> LossFn:
    """loss(model, (images, labels), generator): flow/diffusion MSE on the codec's tokens with
    label dropout; a text model conditions on the features of a random caption of the label."""
    context_fn = caption_features(pipeline.codec.class_names, spec.prompts) if spec.text else None

    def loss_fn(model: torch.nn.Module, batch: Any, generator: torch.Generator) -> torch.Tensor:
        images, labels = batch
        tokens = pipeline.codec.encode(images)
        cond = Cond(labels=labels)
        if context_fn is not None:
            context, mask = context_fn(labels, generator)
            cond = Cond(labels=None, context=context, context_mask=mask)
        cond = cond.with_dropout(spec.label_dropout, generator)
        return pipeline.process.training_loss(model, tokens, cond, generator)

    return loss_fn


RECIPE = Recipe("image", ImageTrainSpec, ImageGenerator, image_data, build, loss)
