"""Training an audio DiT: the spec (``--config`` JSON), the data, the fresh generator and the
loss; core :func:`~polydit.core.train.fit` runs it (``RECIPE``).

The loss is the core process's masked MSE on the codec's frame tokens (flow matching with the
velocity target by default, as stable-audio's rectified-flow objective, at uniform t: on 8
clips memorised for 300 steps, logit-normal t (SD3) left the model untrained near t = 1 and its
samples were as far from the clips as noise — mean squared distance 1.36 in codec units vs 0.27
with uniform t). Per clip:

* the class label (and voice) is replaced by the null conditioning with probability
  ``label_dropout`` (classifier-free guidance training; EzAudio and stable-audio use 0.1);
* a voice-conditioned model also hides the voice alone with probability ``voice_dropout``
  (an all-zero voice vector: "any voice"), so a label can be sampled without a voice;
* with probability ``inpaint_prob`` (EzAudio's ``mae_prob`` 0.25) one contiguous span of
  ``inpaint_min``…1 of the tokens is generated and the rest is given clean (``Cond.given``):
  no noise, no loss, time 0 — the masked-latent training that makes inpainting and
  continuation work from the same model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.audio.codec import MelCodec
from polydit.audio.data import AudioSet, load_dataset
from polydit.audio.mel import MelConfig
from polydit.audio.model import PRESETS, audio_dit_config
from polydit.audio.pipeline import AudioGenerator
from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, SizedTrainSpec, TrainConfig, TrainData

FIT_CLIPS = 1024  # clips (evenly spaced over the set) that fix the codec's mean and std


@dataclass(frozen=True)
class AudioSpec(SizedTrainSpec):
    """Everything ``polydit-audio train --config`` can set (unknown keys are an error).

    data: a built-in set or a folder (``--data`` wins); num_samples: the clip length at
    ``mel.sample_rate``; mel + patch: the codec (frames per token); preset + hidden/depth/heads:
    the DiT size (:data:`polydit.audio.model.PRESETS`); voices: condition on the voice too
    (built-in speech sets; the train voices only); the dropout and inpainting rates as in the
    module docstring.
    """

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


@dataclass(frozen=True)
class AudioTrainSet:
    """An :class:`AudioSet` with voice ids (N,) long into `voice_names` (-1: unknown voice)."""

    clips: AudioSet
    voices: Tensor
    voice_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.clips.waves[index], self.clips.labels[index], self.voices[index]

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(waves (K, L), labels (K,), voices (K,)) at `indices`."""
        return self.clips.waves[indices], self.clips.labels[indices], self.voices[indices]


def audio_data(spec: AudioSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The train split of a built-in set or a folder, at the spec's rate and length."""
    clips, report = load_dataset(
        source or spec.data,
        "train",
        sample_rate=spec.mel.sample_rate,
        num_samples=spec.num_samples,
        skip_bad=bool(flags.get("skip_bad")),
    )
    voices = torch.full((len(clips),), -1, dtype=torch.long)
    names: tuple[str, ...] = ()
    if spec.voices:
        if "voice" not in clips.info:
            raise ConfigError(f"voices=true: {clips.name} has no voice of each clip")
        names = tuple(sorted(set(clips.info["voice"].tolist())))
        voices = torch.from_numpy(np.searchsorted(np.asarray(names), clips.info["voice"]))
    return TrainData(
        AudioTrainSet(clips, voices, names), clips.name, [m for _, m in report.skipped]
    )


def build(spec: AudioSpec, data: AudioTrainSet, seed: int) -> AudioGenerator:
    """A freshly initialised generator for `data` (codec standardisation fitted to it), its DiT
    drawn after seeding with `seed`."""
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


def inpaint_given(
    batch: int, tokens: int, prob: float, shortest: float, generator: torch.Generator
) -> Tensor:
    """(batch, tokens) bool given mask: for a clip drawn with probability `prob`, every token
    outside one contiguous span of ceil(shortest · tokens)…tokens tokens (uniform length, then
    uniform start); nothing for the others."""
    device = generator.device
    use = torch.rand(batch, generator=generator, device=device) < prob
    low = max(1, math.ceil(shortest * tokens))
    u = torch.rand(2, batch, generator=generator, device=device)
    length = (low + (u[0] * (tokens - low + 1)).long()).clamp(max=tokens)
    start = (u[1] * (tokens - length + 1)).long()
    idx = torch.arange(tokens, device=device)[None, :]
    span = (idx >= start[:, None]) & (idx < (start + length)[:, None])
    return use[:, None] & ~span


def loss(spec: AudioSpec, pipeline: AudioGenerator) -> LossFn:
    """loss(model, (waves, labels, voices), generator): flow/diffusion MSE on the codec's tokens
    with label/voice dropout and inpainting spans (module docstring)."""
    codec = pipeline.codec
    num_voices = len(codec.voice_names)

    def loss_fn(model: torch.nn.Module, batch: Any, generator: torch.Generator) -> Tensor:
        waves, labels, voices = batch
        tokens = codec.encode(waves)
        b, n = tokens.x.shape[:2]
        vector = None
        if num_voices:
            keep = torch.rand(b, generator=generator, device=generator.device)
            keep = (keep >= spec.voice_dropout).to(waves.device) & (voices >= 0)
            vector = F.one_hot(voices.clamp_min(0), num_voices).float() * keep[:, None]
        given = inpaint_given(b, n, spec.inpaint_prob, spec.inpaint_min, generator)
        cond = Cond(labels=labels, vector=vector, given=given.to(waves.device))
        cond = cond.with_dropout(spec.label_dropout, generator)
        return pipeline.process.training_loss(model, tokens, cond, generator)

    return loss_fn


RECIPE = Recipe("audio", AudioSpec, AudioGenerator, audio_data, build, loss)
