"""Training a molecule DiT: the spec (``--config`` JSON), the loss and the run.

Loss: the flow-matching MSE on atom tokens (coordinates + scaled one-hot types, generated
jointly), after a uniformly random rotation of every molecule (the model is not equivariant; ADiT
augments the same way). Padding tokens carry no loss. Options (ADiT): noise with zero centre of
mass over each molecule's atoms (``centre_noise``) and, with x0 prediction, ADiT's weight
1 / max(t, 0.1)² (``loss_weight="adit"``; ADiT writes it 1 / (1 − min(t, 0.9)) with t = 1 data).
Option (Chen et al. 2022): self-conditioning (``self_condition``): half the batches first make a
gradient-free clean estimate that the second pass sees (:meth:`AffineProcess.training_loss`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from polydit.core.atomic import atomic_write_text
from polydit.core.config import JsonConfig, to_dict
from polydit.core.dit import DiT
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import AffineProcess, ProcessConfig, build_process
from polydit.core.tokens import Cond, Tokens
from polydit.core.train import TrainConfig, Trainer
from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.core.train.warm_start import warm_start as core_warm_start
from polydit.molecule.codec import AtomCodec, centred_noise, random_rotations, rotate
from polydit.molecule.data import MoleculeSet
from polydit.molecule.model import molecule_dit_config
from polydit.molecule.pair_bias import PairBiasDiT
from polydit.molecule.pipeline import MoleculeGenerator

SPEC_FILE = "spec.json"
LOSS_WEIGHTS = ("none", "adit")
ADIT_MIN_T = 0.1
SELF_CONDITION_RATE = 0.5  # Chen et al. 2022: half of the batches are self-conditioned


@dataclass(frozen=True)
class MoleculeTrainSpec(JsonConfig):
    """Everything ``polydit-molecule train --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (:data:`polydit.molecule.model.PRESETS`).
    type_scale: amplitude of the one-hot type channels; coord_scale: Å per coordinate unit;
    rotate: random-rotation augmentation; centre_noise: zero-centre-of-mass noise (training and
    sampling); loss_weight: "none" (plain masked MSE) or "adit" (x0 prediction only);
    pair_bias: add the interatomic-distance attention bias (:mod:`polydit.molecule.pair_bias`,
    not in ADiT); self_condition: the DiT sees its previous clean estimate (Chen et al. 2022;
    zero-initialised, so a model without it warm-starts exactly); condition_gap: condition on
    the standardised HOMO–LUMO gap (QM9), dropped with probability cfg_dropout for CFG.
    """

    preset: str = "small"
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None
    type_scale: float = 0.25
    coord_scale: float = 1.0
    rotate: bool = True
    centre_noise: bool = True
    pair_bias: bool = False
    loss_weight: str = "none"
    self_condition: bool = False
    condition_gap: bool = False
    cfg_dropout: float = 0.1
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

    def __post_init__(self) -> None:
        if self.loss_weight not in LOSS_WEIGHTS:
            raise ConfigError(
                f"loss_weight={self.loss_weight!r}; expected one of {', '.join(LOSS_WEIGHTS)}"
            )
        if self.loss_weight == "adit" and self.process.prediction != "x0":
            raise ConfigError('loss_weight="adit" needs process.prediction="x0"')


def make_loss(
    codec: AtomCodec,
    process: AffineProcess,
    augment: bool = True,
    *,
    centre_noise: bool = False,
    loss_weight: str = "none",
    self_condition: float = 0.0,
    gap_stats: tuple[float, float] | None = None,
    cfg_dropout: float = 0.0,
):
    """loss(model, batch, generator): rotate (optional), encode, masked flow-matching MSE
    (× ADiT's time weight with ``loss_weight="adit"``; self-conditioned with probability
    `self_condition`; conditioned on the standardised batch gap when `gap_stats`, dropped with
    probability `cfg_dropout`)."""
    time_weight = adit_time_weight if loss_weight == "adit" else None

    def loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], generator) -> torch.Tensor:
        tokens = molecule_tokens(codec, batch, generator, augment)
        noise = None
        if centre_noise:
            noise = centred_noise(tuple(tokens.x.shape), tokens.mask, generator).to(tokens.x)
        cond = None
        if gap_stats is not None:
            vector = ((batch["gap"] - gap_stats[0]) / gap_stats[1])[:, None].to(tokens.x)
            cond = Cond(vector=vector).with_dropout(cfg_dropout, generator)
        return process.training_loss(
            model,
            tokens,
            cond,
            generator,
            noise=noise,
            time_weight=time_weight,
            self_condition=self_condition,
        )

    return loss


def molecule_tokens(
    codec: AtomCodec, batch: dict[str, torch.Tensor], generator, augment: bool = True
) -> Tokens:
    """A training batch (types, coords, mask) as tokens (B, N, 3 + K), each molecule rotated
    uniformly at random when `augment` (the model is not equivariant)."""
    coords = batch["coords"]
    if augment:
        coords = rotate(coords, random_rotations(coords.shape[0], generator))
    return codec.encode(batch["types"], coords, batch["mask"])


def adit_time_weight(t: torch.Tensor) -> torch.Tensor:
    """ADiT's x0-prediction loss weight 1 / max(t, 0.1)² per sample (B,)."""
    return 1.0 / t.clamp_min(ADIT_MIN_T).pow(2)


def build_generator(spec: MoleculeTrainSpec, data: MoleculeSet, seed: int = 0) -> MoleculeGenerator:
    """A freshly initialised generator for `data` (seeded)."""
    codec = AtomCodec(data.atom_types, spec.type_scale, spec.coord_scale)
    torch.manual_seed(seed)
    config = molecule_dit_config(
        codec,
        spec.preset,
        hidden=spec.hidden,
        depth=spec.depth,
        heads=spec.heads,
        self_condition=spec.self_condition,
        vector_dim=1 if spec.condition_gap else 0,
    )
    gap_stats = None
    if spec.condition_gap:
        if data.gap is None:
            raise ConfigError(f"condition_gap: the data {data.name!r} has no HOMO–LUMO gaps")
        gap_stats = (float(data.gap.mean()), float(data.gap.std()))
    model = PairBiasDiT(config) if spec.pair_bias else DiT(config)
    return MoleculeGenerator(
        model,
        build_process(spec.process),
        spec.sampling,
        codec=codec,
        size_histogram=data.size_histogram(),
        data=data.name,
        centre_noise=spec.centre_noise,
        gap_stats=gap_stats,
    )


def warm_start(generator: MoleculeGenerator, source: str | Path) -> list[str]:
    """Load the weights of a pretrained directory (or a shipped model's name) into `generator`;
    the architectures must match except for additive options (e.g. ``self_condition``), whose
    parameters keep their initialisation. Returns those parameters' names."""
    from polydit.molecule import load_pretrained

    return core_warm_start(generator.model, load_pretrained(str(source)).model, source)


def train_molecules(
    spec: MoleculeTrainSpec,
    data: MoleculeSet,
    out: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    init_from: str | Path | None = None,
) -> tuple[MoleculeGenerator, float]:
    """Train on `data`; write out/spec.json and the EMA model to out/model; (generator, seconds).

    init_from: a pretrained directory or shipped name whose weights start a fresh run (a new
    optimizer; ignored by `resume`, whose checkpoint holds the weights).
    """
    generator = build_generator(spec, data, seed)
    if init_from and not resume:
        warm_start(generator, init_from)
    atomic_write_text(
        Path(out) / SPEC_FILE,
        json.dumps(
            {
                "spec": to_dict(spec),
                "data": data.name,
                "seed": seed,
                "init_from": None if init_from is None else str(init_from),
            },
            indent=2,
        )
        + "\n",
    )
    loss = make_loss(
        generator.codec,
        generator.process,
        spec.rotate,
        centre_noise=spec.centre_noise,
        loss_weight=spec.loss_weight,
        self_condition=SELF_CONDITION_RATE if spec.self_condition else 0.0,
        gap_stats=generator.gap_stats,
        cfg_dropout=spec.cfg_dropout,
    )
    train_cfg = dataclasses.replace(spec.train, seed=seed)
    trainer = Trainer(generator.model, loss, data, train_cfg, out, device=device, progress=progress)
    result = trainer.fit(resume=resume)
    generator.model = trainer.ema_model.eval()
    generator.save_pretrained(Path(out) / "model")
    return generator, result.wall_time


def generator_from_run(run: Path, data: MoleculeSet, step: int | None = None) -> MoleculeGenerator:
    """The EMA weights of a run's checkpoint (newest, or `step`) as a generator."""
    saved = json.loads((Path(run) / SPEC_FILE).read_text())
    spec = MoleculeTrainSpec.from_dict(saved["spec"], where=f"{run}/{SPEC_FILE}")
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
