"""Training a crystal DiT: spec, loss and run (``polydit-molecule train --data crystals|CIF``).

Loss: the core flow-matching MSE over the lattice token and the atom tokens (standardised
lattice parameters, fractional coordinates in [−1, 1), one-hot elements), after a uniformly
random translation of every cell with wrap-around of the fractional coordinates (ADiT's crystal
augmentation; rotations do not change fractional coordinates). Padding carries no loss.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from polydit.core.atomic import atomic_write_text
from polydit.core.config import JsonConfig, to_dict
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import AffineProcess, ProcessConfig, build_process
from polydit.core.tokens import Tokens
from polydit.core.train import TrainConfig, Trainer
from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.molecule.crystal_codec import CrystalCodec
from polydit.molecule.crystal_data import CrystalSet
from polydit.molecule.crystal_pipeline import CrystalGenerator
from polydit.molecule.model import preset_size

SPEC_FILE = "spec.json"


@dataclass(frozen=True)
class CrystalTrainSpec(JsonConfig):
    """Everything ``train --data crystals --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (:data:`polydit.molecule.model.PRESETS`);
    translate: random-translation augmentation; max_atoms: the per-cell atom cap.
    """

    preset: str = "small"
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None
    translate: bool = True
    max_atoms: int = 20
    process: ProcessConfig = field(
        default_factory=lambda: ProcessConfig(kind="flow_matching", prediction="velocity")
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(steps=100, sampler="euler")
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=3000,
            batch_size=64,
            lr=1e-3,
            warmup_steps=200,
            schedule="constant",
            ema_decay=0.999,
            checkpoint_every=250,
            keep_checkpoints=100,
            log_every=50,
        )
    )


def crystal_dit_config(codec: CrystalCodec, spec: CrystalTrainSpec) -> DiTConfig:
    """A DiT over crystal tokens; a fixed sin-cos embedding of Tokens.pos marks the lattice
    token (0) apart from the atom tokens (1), which stay an unordered set."""
    size = preset_size(spec.preset, hidden=spec.hidden, depth=spec.depth, heads=spec.heads)
    return DiTConfig(in_dim=codec.channels, pos_embed="sincos", pos_axes=1, qk_norm=True, **size)


def translate(x: torch.Tensor, codec: CrystalCodec, generator: torch.Generator) -> torch.Tensor:
    """Shift every cell's fractional coordinates by one uniform vector, wrapped into [0, 1)."""
    shift = torch.rand(x.shape[0], 1, 3, generator=generator)
    frac = (codec.tokens_to_frac(x[:, 1:, :3]) + shift) % 1.0
    out = x.clone()
    out[:, 1:, :3] = codec.frac_to_tokens(frac)
    return out


def make_crystal_loss(codec: CrystalCodec, process: AffineProcess, augment: bool = True):
    """loss(model, batch, generator): translate (optional), masked flow-matching MSE."""

    def loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], generator) -> torch.Tensor:
        return process.training_loss(
            model, crystal_tokens(codec, batch, generator, augment), None, generator
        )

    return loss


def crystal_tokens(
    codec: CrystalCodec, batch: dict[str, torch.Tensor], generator, augment: bool = True
) -> Tokens:
    """A training batch (x, mask) as tokens (B, 1 + N, C) with lattice/atom positions, every
    cell translated at random (wrapped) when `augment`; padding zeroed."""
    x, mask = batch["x"], batch["mask"]
    if augment:
        x = translate(x, codec, generator)
    x = x * mask[..., None]
    return Tokens(x, codec.positions(mask).to(x), mask)


def build_crystal_generator(
    spec: CrystalTrainSpec, data: CrystalSet, seed: int = 0
) -> CrystalGenerator:
    """A freshly initialised generator for `data` (seeded)."""
    torch.manual_seed(seed)
    return CrystalGenerator(
        DiT(crystal_dit_config(data.codec, spec)),
        build_process(spec.process),
        spec.sampling,
        codec=data.codec,
        size_histogram=data.size_histogram(),
        data=data.name,
    )


def train_crystals(
    spec: CrystalTrainSpec,
    data: CrystalSet,
    out: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    init_from: str | Path | None = None,
) -> tuple[CrystalGenerator, float]:
    """Train on `data`; write out/spec.json (+ the codec) and the EMA model to out/model."""
    generator = build_crystal_generator(spec, data, seed)
    if init_from and not resume:
        donor = CrystalGenerator.from_pretrained(init_from)
        if donor.model.config != generator.model.config or donor.codec != generator.codec:
            raise ConfigError(f"--init-from {init_from}: architecture or codec differs")
        generator.model.load_state_dict(donor.model.state_dict())
    record = {
        "spec": to_dict(spec),
        "data": data.name,
        "seed": seed,
        "codec": generator.codec_config(),
        "init_from": None if init_from is None else str(init_from),
    }
    atomic_write_text(Path(out) / SPEC_FILE, json.dumps(record, indent=2) + "\n")
    loss = make_crystal_loss(generator.codec, generator.process, spec.translate)
    train_cfg = dataclasses.replace(spec.train, seed=seed)
    trainer = Trainer(generator.model, loss, data, train_cfg, out, device=device, progress=progress)
    result = trainer.fit(resume=resume)
    generator.model = trainer.ema_model.eval()
    generator.save_pretrained(Path(out) / "model")
    return generator, result.wall_time


def crystal_generator_from_run(run: Path, step: int | None = None) -> CrystalGenerator:
    """The EMA weights of a run's checkpoint (newest, or `step`) as a generator."""
    saved = json.loads((Path(run) / SPEC_FILE).read_text())
    spec = CrystalTrainSpec.from_dict(saved["spec"], where=f"{run}/{SPEC_FILE}")
    found = dict(list_checkpoints(Path(run) / "checkpoints"))
    if not found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint")
    chosen = max(found) if step is None else step
    if chosen not in found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint at step {step}")
    codec = saved["codec"]
    model = DiT(crystal_dit_config(CrystalCodec.from_dict(codec["crystal"]), spec))
    model.load_state_dict(load_checkpoint(found[chosen])["ema"])
    return CrystalGenerator.from_configs(model, build_process(spec.process), spec.sampling, codec)
