"""Training a molecule DiT: the spec (``--config`` JSON), the loss and the run.

Loss: the core flow-matching MSE on atom tokens (coordinates + scaled one-hot types, generated
jointly), after a uniformly random rotation of every molecule (the model is not equivariant; ADiT
augments the same way). Padding tokens carry no loss.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from polydit.core.atomic import atomic_write_text
from polydit.core.config import from_dict, to_dict
from polydit.core.dit import DiT
from polydit.core.errors import CheckpointError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import AffineProcess, ProcessConfig, build_process
from polydit.core.train import TrainConfig, Trainer
from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.molecule.codec import AtomCodec, random_rotations, rotate
from polydit.molecule.data import MoleculeSet
from polydit.molecule.model import molecule_dit_config
from polydit.molecule.pipeline import MoleculeGenerator

SPEC_FILE = "spec.json"


@dataclass(frozen=True)
class MoleculeTrainSpec:
    """Everything ``polydit-molecule train --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (:data:`polydit.molecule.model.PRESETS`).
    type_scale: amplitude of the one-hot type channels; rotate: random-rotation augmentation.
    """

    preset: str = "small"
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None
    type_scale: float = 0.25
    rotate: bool = True
    process: ProcessConfig = field(
        default_factory=lambda: ProcessConfig(kind="flow_matching", prediction="velocity")
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(steps=100, sampler="euler")
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=20000,
            batch_size=64,
            lr=6e-4,
            warmup_steps=300,
            schedule="constant",
            ema_decay=0.999,
            checkpoint_every=250,
            log_every=50,
        )
    )

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "--config") -> MoleculeTrainSpec:
        return from_dict(cls, data, where=where)

    def replace(self, **changes: Any) -> MoleculeTrainSpec:
        return dataclasses.replace(self, **changes)


def make_loss(codec: AtomCodec, process: AffineProcess, augment: bool = True):
    """loss(model, batch, generator): rotate (optional), encode, masked flow-matching MSE."""

    def loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], generator) -> torch.Tensor:
        coords = batch["coords"]
        if augment:
            coords = rotate(coords, random_rotations(coords.shape[0], generator))
        tokens = codec.encode(batch["types"], coords, batch["mask"])
        return process.training_loss(model, tokens, None, generator)

    return loss


def build_generator(spec: MoleculeTrainSpec, data: MoleculeSet, seed: int = 0) -> MoleculeGenerator:
    """A freshly initialised generator for `data` (seeded)."""
    codec = AtomCodec(data.atom_types, spec.type_scale)
    torch.manual_seed(seed)
    config = molecule_dit_config(
        codec, spec.preset, hidden=spec.hidden, depth=spec.depth, heads=spec.heads
    )
    return MoleculeGenerator(
        DiT(config),
        build_process(spec.process),
        spec.sampling,
        codec=codec,
        size_histogram=data.size_histogram(),
        data=data.name,
    )


def train_molecules(
    spec: MoleculeTrainSpec,
    data: MoleculeSet,
    out: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[MoleculeGenerator, float]:
    """Train on `data`; write out/spec.json and the EMA model to out/model; (generator, seconds)."""
    generator = build_generator(spec, data, seed)
    atomic_write_text(
        Path(out) / SPEC_FILE,
        json.dumps({"spec": to_dict(spec), "data": data.name, "seed": seed}, indent=2) + "\n",
    )
    loss = make_loss(generator.codec, generator.process, spec.rotate)
    train_cfg = dataclasses.replace(spec.train, seed=seed)
    trainer = Trainer(generator.model, loss, data, train_cfg, out, device=device, progress=progress)
    result = trainer.fit(resume=resume)
    generator.model = trainer.ema_model.eval()
    generator.save_pretrained(Path(out) / "model")
    return generator, result.wall_time


def generator_from_run(run: Path, data: MoleculeSet, step: int | None = None) -> MoleculeGenerator:
    """The EMA weights of a run's checkpoint (newest, or `step`) as a generator."""
    saved = json.loads((Path(run) / SPEC_FILE).read_text())
    spec = MoleculeTrainSpec.from_json(saved["spec"], where=f"{run}/{SPEC_FILE}")
    found = dict(list_checkpoints(Path(run) / "checkpoints"))
    if not found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint")
    chosen = max(found) if step is None else step
    if chosen not in found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint at step {step}")
    state = load_checkpoint(found[chosen])
    generator = build_generator(spec, data, saved.get("seed", 0))
    generator.model.load_state_dict(state["ema"])
    generator.model.eval()
    return generator
