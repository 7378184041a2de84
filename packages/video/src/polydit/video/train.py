"""Training a video DiT on the VDT task mixture: spec, data, build and loss for core `fit`.

The loss draws the task of every clip, the diffusion time and the noise from the Trainer's
generator, so runs are reproducible and resume exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData, TrainSpec
from polydit.core.train.recipe import codec_checked_warm_start
from polydit.core.train.warm_start import warm_start as dit_warm_start
from polydit.video.captions import CaptionedDigits
from polydit.video.codec import VideoCodec
from polydit.video.data import ClipFolder, MovingDigits, MovingDigitsConfig
from polydit.video.model import VideoModelConfig
from polydit.video.pipeline import VideoGenerator
from polydit.video.tasks import TaskMix, sample_given

SELF_CONDITION_P = 0.5  # Chen et al. 2022: half the batches see the first pass's estimate


@dataclass(frozen=True)
class VideoTrainSpec(TrainSpec):
    """Everything a training run needs: codec (with its data), model, task mixture, process,
    optimiser, stored sampling defaults.

    The defaults are the shipped ``moving-digits`` recipe: 1×4×4 patches (288 tokens), a
    128-wide 4-block DiT, x0 prediction on the rectified-flow path, the bar-weighted task mix.
    """

    codec: VideoCodec = field(
        default_factory=lambda: VideoCodec(8, 24, 1, (1, 4, 4), data=MovingDigitsConfig())
    )
    model: VideoModelConfig = VideoModelConfig(depth=4)
    tasks: TaskMix = field(default_factory=TaskMix)
    process: ProcessConfig = ProcessConfig(prediction="x0")
    train: TrainConfig = TrainConfig(
        steps=3200, batch_size=16, lr=1e-3, checkpoint_every=100, log_every=25
    )
    sampling_steps: int = 20
    given_scale: float = 2.0  # given-frame guidance stored as the model's default (1: none)
    cfg_scale: float = 1.0  # guidance on the label/caption stored as the model's default
    label_dropout: float = 0.2  # conditional models: P(label/caption replaced by the null one)

    def __post_init__(self) -> None:
        if not 0 <= self.label_dropout <= 1:
            raise ConfigError(f"label_dropout must be in [0, 1], got {self.label_dropout}")


def video_data(spec: VideoTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """source None or "moving-digits": the built-in set per ``codec.data`` (with digit labels
    for a class-conditional model); else a folder of GIF/MP4 clips."""
    codec = spec.codec
    if source in (None, "moving-digits"):
        data = codec.data
        shape = None if data is None else (data.frames, data.size, codec.channels)
        if shape != (codec.frames, codec.size, 1):
            raise ConfigError(
                "--config: codec.data.frames/size must match codec.frames/size, with 1 channel"
            )
        labels = spec.model.num_classes > 0
        digits = MovingDigits(data, "train", labels=labels)
        return TrainData(CaptionedDigits(digits) if spec.model.text else digits, "moving-digits")
    if spec.model.num_classes or spec.model.text:
        raise ConfigError(
            "--data DIR: clip folders have no labels or captions; use model.num_classes=0 and "
            "model.text=false"
        )
    return TrainData(ClipFolder(source, codec.frames, codec.size, codec.channels), source)


def build(spec: VideoTrainSpec, dataset: Any, seed: int) -> VideoGenerator:
    """A fresh generator per `spec`, its weights drawn after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    model = DiT(spec.model.dit_config(spec.codec))
    sampling = SamplingConfig(  # Euler
        steps=spec.sampling_steps, given_scale=spec.given_scale, cfg_scale=spec.cfg_scale
    )
    return VideoGenerator(model, build_process(spec.process), sampling, codec=spec.codec)


def loss(spec: VideoTrainSpec, pipeline: VideoGenerator) -> LossFn:
    """`loss_fn(model, batch, generator)`; batch is clips (B, T, C, H, W), or (clips, labels (B,))
    for a class-conditional model, or (clips, caption ids (B,)) for a text model (its context
    from a :class:`~polydit.video.text.CaptionBank` encoded once here); labels and captions are
    dropped with ``spec.label_dropout``. Each clip's given mask comes from ``spec.tasks``;
    self-conditioned models self-condition half the batches."""
    codec, process = pipeline.codec, pipeline.process
    self_condition = SELF_CONDITION_P if pipeline.model.config.self_condition else 0.0
    bank = None
    if pipeline.is_text:
        from polydit.video.text import CaptionBank

        bank = CaptionBank()

    def loss_fn(model: nn.Module, batch: Tensor | tuple[Tensor, Tensor], g: torch.Generator):
        clips, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        tokens = codec.encode(clips)
        quantum = codec.patch[1]
        pixels = sample_given(spec.tasks, clips.shape[0], codec.frames, codec.size, g, quantum)
        cond = Cond(given=codec.pixels_to_tokens(pixels).to(clips.device))
        if labels is not None:
            dropped = torch.rand(labels.shape, generator=g) < spec.label_dropout
            if bank is None:
                cond.labels = labels
            else:
                cond.context, cond.context_mask = bank.context(labels)
            cond.dropped = dropped.to(labels.device)
        return process.training_loss(model, tokens, cond, g, self_condition=self_condition)

    return loss_fn


def warm_start(pipeline: VideoGenerator, donor: VideoGenerator, source: str) -> VideoGenerator:
    """The codec-checked warm start, except that the donor may have been trained on other data
    (fine-tuning on other clips keeps the codec's shape and attention), and that a text model
    may start from a model without text (:func:`text_warm_start`)."""
    donor.codec = donor.codec.replace(data=pipeline.codec.data)
    if pipeline.is_text and not donor.is_text:
        if donor.codec != pipeline.codec:
            raise ConfigError(f"--init-from {source}: its codec differs from the run's")
        text_warm_start(pipeline.model, donor.model, source)
        return pipeline
    return codec_checked_warm_start(pipeline, donor, source)


def text_warm_start(model: DiT, donor: DiT, source: str) -> list[str]:
    """A text (joint-block) DiT from a DiT without context: plain block i becomes the video
    stream ``blocks.i.x`` of joint block i, every other weight is copied by name; returns the
    parameters that keep their fresh initialisation (the context embedding and streams).

    Sound because a joint block's video stream is a plain block attending over [context;
    video]: with the null context (no context key attended) the warm-started model computes
    exactly the donor's function. With a caption its video tokens also attend to fresh context
    keys, which training then shapes.
    """
    if donor.config.context_dim or not model.config.context_dim:
        raise ConfigError(f"--init-from {source}: text_warm_start needs a donor without text")
    dit_warm_start(DiT(model.config.replace(context_dim=0)), donor, source)  # the rest agrees
    state = {}
    for name, value in donor.state_dict().items():
        if name.startswith("blocks."):
            index, rest = name[len("blocks.") :].split(".", 1)
            name = f"blocks.{index}.x.{rest}"
        state[name] = value
    loaded = model.load_state_dict(state, strict=False)
    if loaded.unexpected_keys:
        raise ConfigError(f"--init-from {source}: {loaded.unexpected_keys[0]} has no place here")
    return sorted(loaded.missing_keys)


RECIPE = Recipe("video", VideoTrainSpec, VideoGenerator, video_data, build, loss, warm_start)
