"""Training a video DiT on the VDT task mixture with the core Trainer.

A run is described by one JSON-able :class:`VideoTrainSpec` (``--config`` overrides any field);
the loss draws the task of every clip, the diffusion time and the noise from the Trainer's
generator, so runs are reproducible and resume exactly.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.atomic import atomic_write_text
from polydit.core.config import JsonConfig
from polydit.core.dit import DiT
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import AffineProcess, ProcessConfig, build_process
from polydit.core.tokens import Cond
from polydit.core.train import TrainConfig, Trainer, resolve_pretrained, warm_start
from polydit.video import PRETRAINED
from polydit.video.codec import VideoCodec
from polydit.video.data import ClipFolder, MovingDigits, MovingDigitsConfig
from polydit.video.model import VideoModelConfig, build_model
from polydit.video.pipeline import VideoGenerator
from polydit.video.tasks import TaskMix, sample_given

SPEC_FILE = "spec.json"


SELF_CONDITION_P = 0.5  # Chen et al. 2022: half the batches see the first pass's estimate


@dataclass(frozen=True)
class VideoTrainSpec(JsonConfig):
    """Everything a training run needs: data, codec, model, task mixture, process, optimiser.

    The defaults are the shipped ``moving-digits`` recipe: 1×4×4 patches (288 tokens), a
    128-wide 4-block DiT, x0 prediction on the rectified-flow path, the bar-weighted task mix.
    """

    data: MovingDigitsConfig = field(default_factory=MovingDigitsConfig)
    codec: VideoCodec = field(default_factory=lambda: VideoCodec(8, 24, 1, (1, 4, 4)))
    model: VideoModelConfig = field(default_factory=lambda: VideoModelConfig(depth=4))
    tasks: TaskMix = field(default_factory=TaskMix)
    process: ProcessConfig = field(default_factory=lambda: ProcessConfig(prediction="x0"))
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=3200,
            batch_size=16,
            lr=1e-3,
            warmup_steps=200,
            ema_decay=0.999,
            checkpoint_every=100,
            log_every=25,
        )
    )
    sampling_steps: int = 20
    given_scale: float = 2.0  # given-frame guidance stored as the model's default (1: none)
    label_dropout: float = 0.2  # class-conditional models: P(label replaced by the null class)

    def __post_init__(self) -> None:
        if not 0 <= self.label_dropout <= 1:
            raise ConfigError(f"label_dropout must be in [0, 1], got {self.label_dropout}")


def video_loss(
    codec: VideoCodec,
    process: AffineProcess,
    mix: TaskMix,
    label_dropout: float = 0.0,
    self_condition: float = 0.0,
):
    """`loss_fn(model, batch, generator)` for the Trainer; batch is clips (B, T, C, H, W) or
    (clips, labels (B,)) for a class-conditional model (labels dropped with `label_dropout`).
    self_condition: probability of a self-conditioned batch (self-conditioned models)."""

    def loss_fn(model: nn.Module, batch: Tensor | tuple[Tensor, Tensor], g: torch.Generator):
        clips, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        tokens = codec.encode(clips)
        pixels = sample_given(mix, clips.shape[0], codec.frames, codec.size, g, codec.patch[1])
        cond = Cond(given=codec.pixels_to_tokens(pixels).to(clips.device))
        if labels is not None:
            cond.labels = labels
            cond.dropped = (torch.rand(labels.shape, generator=g) < label_dropout).to(labels.device)
        return process.training_loss(model, tokens, cond, g, self_condition=self_condition)

    return loss_fn


def init_from(model: DiT, spec: VideoTrainSpec, source: str | Path) -> Path:
    """Load the weights of pretrained directory or shipped model `source` (a warm start, fresh
    optimiser) into `model`; its codec and attention must be the spec's, its DiT the same but for
    options that only add parameters (e.g. class conditioning over a label-free model)."""
    path = resolve_pretrained(source, PRETRAINED)
    generator = VideoGenerator.from_pretrained(path)
    if generator.codec != spec.codec or generator.model_config.attention != spec.model.attention:
        raise ConfigError(
            f"--init-from {path}: its codec/attention ({generator.codec}, "
            f"{generator.model_config.attention}) differ from the run's ({spec.codec}, "
            f"{spec.model.attention})"
        )
    warm_start(model, generator.model, path)
    return path


def train(
    spec: VideoTrainSpec,
    out: str | Path,
    *,
    data: str | None = None,
    resume: bool = False,
    device: str = "cpu",
    progress: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train per `spec` into run directory `out`; save the EMA model to ``out/model``.

    data: None or "moving-digits" for the built-in set, else a folder of GIF/MP4 clips.
    init: a pretrained directory or shipped model name to start from (``--init-from``; fresh
    optimiser; ignored when `resume` finds a checkpoint, which wins).
    """

    out = Path(out)
    codec = spec.codec
    _write_spec(out, spec, resume)
    if data in (None, "moving-digits"):
        if (spec.data.frames, spec.data.size) != (codec.frames, codec.size) or codec.channels != 1:
            raise ConfigError(
                "--config: data.frames/size must match codec.frames/size, with 1 channel"
            )
        dataset: Any = MovingDigits(spec.data, "train", labels=spec.model.num_classes > 0)
    else:
        if spec.model.num_classes:
            raise ConfigError("--data DIR: clip folders have no labels; use model.num_classes=0")
        dataset = ClipFolder(data, codec.frames, codec.size, codec.channels)
    process = build_process(spec.process)
    torch.manual_seed(spec.train.seed)
    model = build_model(spec.model, codec)
    started_from = None if init is None else str(init_from(model, spec, init))
    trainer = Trainer(
        model,
        video_loss(
            codec,
            process,
            spec.tasks,
            spec.label_dropout,
            SELF_CONDITION_P if spec.model.self_condition else 0.0,
        ),
        dataset,
        spec.train,
        out,
        device=device,
        progress=progress,
    )
    started = time.perf_counter()
    result = trainer.fit(resume=resume)
    seconds = time.perf_counter() - started
    saved = generator_for(spec, trainer.ema_model).save_pretrained(out / "model")
    record = {
        "step": result.step,
        "loss": result.loss,
        "seconds_this_call": seconds,
        "init_from": started_from,
    }
    atomic_write_text(out / "train_result.json", json.dumps(record, indent=2) + "\n")
    return saved


def generator_for(spec: VideoTrainSpec, model: nn.Module) -> VideoGenerator:
    """The pipeline of a model trained per `spec`."""
    sampling = SamplingConfig(
        steps=spec.sampling_steps, sampler="euler", given_scale=spec.given_scale
    )
    return VideoGenerator(
        model,
        build_process(spec.process),
        sampling,
        codec=spec.codec,
        model_config=spec.model,
        data_config=spec.data,
    )


def _write_spec(out: Path, spec: VideoTrainSpec, resume: bool) -> None:
    path = out / SPEC_FILE
    if resume and path.is_file():  # a resumed run may only change its number of steps
        stored = read_spec(out)
        if with_steps(stored, spec.train.steps) != spec:
            raise ConfigError(
                f"{path}: --resume with other settings than the run was started with "
                f"(only --steps may change)"
            )
    atomic_write_text(path, json.dumps(spec.to_dict(), indent=2) + "\n")


def read_spec(run: str | Path) -> VideoTrainSpec:
    """The spec a run directory was started with (its spec.json)."""
    path = Path(run) / SPEC_FILE
    try:
        return VideoTrainSpec.from_dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not a readable run spec ({e})") from None


def export_checkpoint(
    run: str | Path,
    out: str | Path,
    spec: VideoTrainSpec | None = None,
    *,
    sampling_steps: int | None = None,
    given_scale: float | None = None,
) -> Path:
    """Save the EMA weights of the newest checkpoint of run directory `run` as a pretrained
    directory `out` (to ship or evaluate a run that is still going or was stopped).

    sampling_steps, given_scale: the sampling defaults to store instead of the spec's (e.g. a
    guidance scale chosen on validation clips after training)."""
    from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint

    spec = spec or read_spec(run)
    changes = {"sampling_steps": sampling_steps, "given_scale": given_scale}
    spec = spec.replace(**{k: v for k, v in changes.items() if v is not None})
    found = list_checkpoints(Path(run) / "checkpoints")
    if not found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint to export")
    _, path = found[-1]
    model = build_model(spec.model, spec.codec)
    model.load_state_dict(load_checkpoint(path)["ema"])
    return generator_for(spec, model).save_pretrained(out)


def with_steps(spec: VideoTrainSpec, steps: int | None, seed: int | None = None) -> VideoTrainSpec:
    """`spec` with the optimiser steps (and seed) replaced when given."""
    changes: dict[str, Any] = {}
    if steps is not None:
        changes["steps"] = steps
    if seed is not None:
        changes["seed"] = seed
    return replace(spec, train=replace(spec.train, **changes)) if changes else spec
