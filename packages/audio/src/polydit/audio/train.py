"""Training an audio DiT: the spec (``--config`` JSON), data, fresh generator and loss for core
:func:`~polydit.core.train.fit` (``RECIPE``).

The loss is the core process's masked MSE on the codec's tokens (flow matching, velocity target,
uniform t; the package README says why not logit-normal). Per clip the label (and voice) is
dropped to the null conditioning with probability ``label_dropout`` (CFG; EzAudio and
stable-audio: 0.1); a voice model also hides the voice alone with probability
``voice_dropout`` (all-zero vector: "any voice"); with probability ``inpaint_prob`` (EzAudio's
``mae_prob`` 0.25) one span of ``inpaint_min``…1 of the tokens is generated and the rest given
clean (``Cond.given``: no noise, no loss, time 0), so one model also inpaints and continues.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from polydit.audio.codec import MelCodec
from polydit.audio.data import AudioTrainSet, load_dataset
from polydit.audio.mel import MelConfig
from polydit.audio.model import PRESETS, audio_dit_config
from polydit.audio.pipeline import AudioGenerator
from polydit.audio.spans import inpaint_given
from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.train import LossFn, Recipe, SizedTrainSpec, TrainConfig, TrainData

FIT_CLIPS = 1024  # clips (evenly spaced over the set) that fix the codec's mean and std


@dataclass(frozen=True)
class AudioSpec(SizedTrainSpec):
    """Everything ``polydit-audio train --config`` can set (unknown keys are an error): data (a
    built-in or a folder; ``--data`` wins), num_samples (clip length at ``mel.sample_rate``), the
    codec (mel, patch: frames per token), the DiT size (preset or hidden/depth/heads, PRESETS),
    voices (condition on the train voices too), the rates of the module docstring."""

    presets = PRESETS
    data: str = "spoken-digits"
    num_samples: int = 16384
    mel: MelConfig = field(default_factory=MelConfig)
    patch: int = 1
    preset: str = "tiny"
    voices: bool = False
    label_dropout: float = 0.1
    voice_dropout: float = 0.5
    inpaint_prob: float = 0.25
    inpaint_min: float = 0.1
    process: ProcessConfig = ProcessConfig(
        kind="flow_matching", prediction="velocity", t_sampling="uniform"
    )
    sampling: SamplingConfig = SamplingConfig(steps=25, sampler="heun", cfg_scale=2.0)
    train: TrainConfig = TrainConfig(steps=3000, batch_size=64, lr=5e-4, checkpoint_every=250)

    def __post_init__(self) -> None:
        for name in ("label_dropout", "voice_dropout", "inpaint_prob"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.inpaint_min <= 1:
            raise ConfigError(f"inpaint_min must be in (0, 1], got {self.inpaint_min}")


def audio_data(spec: AudioSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The train split of a built-in set or a folder, at the spec's rate and length."""
    clips, report = load_dataset(
        source or spec.data,
        "train",
        sample_rate=spec.mel.sample_rate,
        num_samples=spec.num_samples,
        skip_bad=bool(flags.get("skip_bad")),
    )
    if spec.voices and "voice" not in clips.info:
        raise ConfigError(f"voices=true: {clips.name} has no voice of each clip")
    data = AudioTrainSet.of(clips, "voice" if spec.voices else None)
    return TrainData(data, clips.name, [m for _, m in report.skipped])


def build(spec: AudioSpec, data: AudioTrainSet, seed: int) -> AudioGenerator:
    """A fresh generator for `data` (codec standardised on it), the DiT drawn after `seed`."""
    clips = data.clips
    codec = MelCodec(
        spec.mel,
        spec.num_samples,
        spec.patch,
        class_names=clips.class_names,
        voice_names=data.voice_names,
        data=clips.name,
    )
    fit_on = torch.linspace(0, len(clips) - 1, min(FIT_CLIPS, len(clips))).round().long()
    codec = codec.fitted(clips.waves[fit_on])
    torch.manual_seed(seed)
    model = DiT(audio_dit_config(codec, spec.dit_size()))
    return AudioGenerator(model, build_process(spec.process), spec.sampling, codec=codec)


def loss(spec: AudioSpec, pipeline: AudioGenerator) -> LossFn:
    """loss(model, (waves, labels, voices), generator): the module docstring's masked MSE."""
    codec = pipeline.codec

    def loss_fn(model: torch.nn.Module, batch: Any, generator: torch.Generator) -> Tensor:
        waves, labels, voices = batch
        tokens = codec.encode(waves)
        b, n = tokens.x.shape[:2]
        if codec.voice_names:  # hide the voice alone: -1 is "any voice"
            hide = torch.rand(b, generator=generator, device=generator.device) < spec.voice_dropout
            voices = voices.masked_fill(hide.to(voices.device), -1)
        given = inpaint_given(b, n, spec.inpaint_prob, spec.inpaint_min, generator)
        cond = replace(pipeline.cond(labels, voices), given=given.to(waves.device))
        cond = cond.with_dropout(spec.label_dropout, generator)
        return pipeline.process.training_loss(model, tokens, cond, generator)

    return loss_fn


RECIPE = Recipe("audio", AudioSpec, AudioGenerator, audio_data, build, loss)
