"""Training an image DiT: the spec (``--config`` JSON), the loss and the run.

The loss is the core process's masked MSE on patch tokens, with the class label replaced by the
null class with probability ``label_dropout`` (classifier-free guidance training, as DiT does).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from polydit.core.config import JsonConfig
from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond
from polydit.core.train import TrainConfig, Trainer, warm_start
from polydit.image.codec import PatchCodec
from polydit.image.data import ImageSet
from polydit.image.model import image_dit_config
from polydit.image.pipeline import ImageGenerator

PROCESSES = {
    "flow": ProcessConfig(kind="flow_matching", prediction="velocity", t_sampling="logit_normal"),
    "ddpm": ProcessConfig(kind="gaussian", prediction="eps", schedule="linear"),
}


@dataclass(frozen=True)
class ImageTrainSpec(JsonConfig):
    """Everything ``polydit-image train --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (see :data:`polydit.image.model.PRESETS`).
    patch: patch size; size/channels: the image size of folder data (built-ins fix their own).
    label_dropout: probability of the null class in training (CFG).
    prompts: text models only — how class names become captions ("{}" is the class name).
    """

    preset: str = "digits"
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None
    patch: int = 2
    size: int = 32
    channels: int = 1
    label_dropout: float = 0.1
    text: bool = False
    prompts: tuple[str, ...] = ("a handwritten {}",)
    process: ProcessConfig = PROCESSES["flow"]
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(steps=12, sampler="heun", cfg_scale=1.15)
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=3500,
            batch_size=64,
            lr=5e-4,
            warmup_steps=200,
            ema_decay=0.999,
            checkpoint_every=250,
            weight_decay=0.0,
            log_every=50,
        )
    )

    def __post_init__(self) -> None:
        if not 0 <= self.label_dropout < 1:
            raise ConfigError(f"label_dropout must be in [0, 1), got {self.label_dropout}")


def make_loss(codec: PatchCodec, spec: ImageTrainSpec, process, context_fn=None):
    """loss(model, (images, labels), generator): flow/diffusion MSE with label dropout."""

    def loss(model: torch.nn.Module, batch: Any, generator: torch.Generator) -> torch.Tensor:
        images, labels = batch
        tokens = codec.encode(images)
        cond = Cond(labels=labels)
        if context_fn is not None:
            context, mask = context_fn(labels, generator)
            cond = Cond(labels=None, context=context, context_mask=mask)
        cond = cond.with_dropout(spec.label_dropout, generator)
        return process.training_loss(model, tokens, cond, generator)

    return loss


def build_generator(spec: ImageTrainSpec, data: ImageSet, seed: int = 0) -> ImageGenerator:
    """A freshly initialised generator for `data` (seeded)."""
    c, h, w = data.shape
    codec = PatchCodec(channels=c, height=h, width=w, patch=spec.patch)
    context_dim, encoder = 0, None
    if spec.text:
        from polydit.image.text import ENCODER_NAME, feature_dim

        context_dim, encoder = feature_dim(), ENCODER_NAME
    torch.manual_seed(seed)
    config = image_dit_config(
        spec.preset,
        codec,
        num_classes=0 if spec.text else len(data.class_names),
        context_dim=context_dim,
        hidden=spec.hidden,
        depth=spec.depth,
        heads=spec.heads,
    )
    return ImageGenerator(
        DiT(config),
        build_process(spec.process),
        spec.sampling,
        codec=codec,
        class_names=data.class_names,
        data=data.name,
        text_encoder=encoder,
    )


def train_image(
    spec: ImageTrainSpec,
    data: ImageSet,
    out: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    init_from: Path | None = None,
) -> tuple[ImageGenerator, float]:
    """Train on `data`; save the EMA model to ``out/model``; (generator, wall seconds).

    init_from: a pretrained image directory whose weights start the run (``--init-from``; same
    codec and architecture, fresh optimiser; ignored when `resume` finds a checkpoint).
    """
    generator = build_generator(spec, data, seed)
    if init_from is not None and not resume:
        donor = ImageGenerator.from_pretrained(init_from)
        if donor.codec != generator.codec:
            raise ConfigError(
                f"--init-from {init_from}: its codec {donor.codec} differs from the run's "
                f"{generator.codec}"
            )
        warm_start(generator.model, donor.model, init_from)
    context_fn = None
    if spec.text:
        from polydit.image.text import caption_features

        context_fn = caption_features(data.class_names, spec.prompts)
    loss = make_loss(generator.codec, spec, generator.process, context_fn)
    train_cfg = dataclasses.replace(spec.train, seed=seed)
    trainer = Trainer(generator.model, loss, data, train_cfg, out, device=device, progress=progress)
    result = trainer.fit(resume=resume)
    generator.model = trainer.ema_model.eval()
    generator.save_pretrained(out / "model")
    return generator, result.wall_time
