"""Training a molecule DiT (``train --data qm9|qm9-noh|FILE``): the spec and the loss.

Loss: the flow-matching MSE on atom tokens (coordinates + scaled one-hot types) of randomly
rotated molecules (ADiT: the model is not equivariant); padding carries no loss. Options: centred
noise (EDM/ADiT); ADiT's x0 weight 1 / max(t, 0.1)² (ADiT: 1 / (1 − min(t, 0.9)), t = 1 data);
self-conditioning (Chen et al. 2022); the HOMO–LUMO gap as a condition, dropped for CFG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import build_process
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData, warm_start
from polydit.molecule.codec import centred_noise, rotated
from polydit.molecule.data import MoleculeSet, fit_codec, load_dataset, load_qm9
from polydit.molecule.model import AtomTrainSpec, molecule_dit_config
from polydit.molecule.pipeline import MoleculeGenerator


@dataclass(frozen=True)
class MoleculeTrainSpec(AtomTrainSpec):
    """What ``train --config`` can set. preset + hidden/depth/heads: the DiT size
    (:data:`~polydit.molecule.model.PRESETS`); type_scale, coord_scale, centre_noise, pair_bias:
    the codec's; rotate: the augmentation; loss_weight: "none" or "adit" (x0 prediction only);
    self_condition: the DiT sees its previous clean estimate (zero-initialised: a plain model
    warm-starts it exactly); condition_gap: on the standardised HOMO–LUMO gap, dropped with
    probability cfg_dropout for CFG. bonds: the bond mode (:mod:`polydit.molecule.bond_model`;
    QM9 with its RDKit bonds; an EdgeDiT of the same size with edge stream width edge_hidden;
    coord_weight / type_weight / bond_weight its loss weights, MiDi's; sampling.steps its grid,
    the categorical sampler "ancestral"; self_condition there feeds back all three estimates)."""

    type_scale: float = 0.25
    coord_scale: float = 1.0
    rotate: bool = True
    centre_noise: bool = True
    pair_bias: bool = False
    loss_weight: str = "none"
    self_condition: bool = False
    condition_gap: bool = False
    cfg_dropout: float = 0.1
    bonds: bool = False
    edge_hidden: int = 64
    coord_weight: float = 3.0
    type_weight: float = 0.4
    bond_weight: float = 2.0
    sampling: SamplingConfig = SamplingConfig(steps=100)
    train: TrainConfig = TrainConfig(
        steps=20000, lr=6e-4, warmup_steps=300, schedule="constant", checkpoint_every=250
    )

    def __post_init__(self) -> None:
        if self.loss_weight not in ("none", "adit"):
            raise ConfigError(f"loss_weight={self.loss_weight!r}; expected one of none, adit")
        if self.loss_weight == "adit" and self.process.prediction != "x0":
            raise ConfigError('loss_weight="adit" needs process.prediction="x0"')
        if self.bonds:
            unsupported = {
                "condition_gap": self.condition_gap, "pair_bias": self.pair_bias, "loss_weight": self.loss_weight != "none",
                "centre_noise": not self.centre_noise, "coord_scale": self.coord_scale != 1.0,
            }  # fmt: skip
            for name, used in unsupported.items():
                if used:
                    raise ConfigError(
                        f"bonds: the bond mode does not take {name}={getattr(self, name)!r}"
                    )


def molecule_data(spec: MoleculeTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The train split of a built-in set, or a user's SDF/XYZ file (``--skip-bad``); the bond mode
    takes QM9 with its bonds."""
    if spec.bonds:
        if (source or "qm9") != "qm9":
            raise ConfigError(f"--data {source}: the bond mode trains on qm9 (its RDKit bonds)")
        data = load_qm9("train", bonds=True)
        return TrainData(data, data.name, [])
    data, skipped = load_dataset(source, "train", flags.get("skip_bad", False))
    return TrainData(data, data.name, skipped)


def build(spec: MoleculeTrainSpec, data: MoleculeSet, seed: int) -> MoleculeGenerator:
    """A fresh generator whose codec is fitted to `data` (alphabet, atom counts, gap statistics);
    a :class:`~polydit.molecule.bond_pipeline.BondGenerator` in the bond mode."""
    if spec.bonds:
        from polydit.molecule import bond_train

        return bond_train.build(spec, data, seed)
    codec = fit_codec(
        data, spec.condition_gap, type_scale=spec.type_scale, coord_scale=spec.coord_scale,
        centre_noise=spec.centre_noise, pair_bias=spec.pair_bias,
    )  # fmt: skip
    torch.manual_seed(seed)
    config = molecule_dit_config(
        codec,
        spec.dit_size(),
        self_condition=spec.self_condition,
        vector_dim=1 if spec.condition_gap else 0,
    )
    model = MoleculeGenerator.build_model(config, codec.to_dict())
    return MoleculeGenerator(model, build_process(spec.process), spec.sampling, codec=codec)


def adit_time_weight(t: torch.Tensor) -> torch.Tensor:
    """ADiT's x0-prediction loss weight 1 / max(t, 0.1)² per sample (B,)."""
    return 1.0 / t.clamp_min(0.1).pow(2)


def loss(spec: MoleculeTrainSpec, pipeline: MoleculeGenerator) -> LossFn:
    """loss(model, batch, generator): rotate, encode, masked flow-matching MSE (module docstring);
    the bond mode's loss (:mod:`polydit.molecule.bond_train`) when ``spec.bonds``."""
    if spec.bonds:
        from polydit.molecule import bond_train

        return bond_train.loss(spec, pipeline)
    codec, process = pipeline.codec, pipeline.process
    time_weight = adit_time_weight if spec.loss_weight == "adit" else None
    self_condition = 0.5 if spec.self_condition else 0.0  # Chen et al.: half the batches

    def molecule_loss(model: torch.nn.Module, batch: dict, generator) -> torch.Tensor:
        tokens = codec.encode(rotated(batch, generator) if spec.rotate else batch)
        noise = cond = None
        if codec.centre_noise:
            noise = centred_noise(tuple(tokens.x.shape), tokens.mask, generator).to(tokens.x)
        if codec.gap is not None:
            vector = ((batch["gap"] - codec.gap[0]) / codec.gap[1])[:, None].to(tokens.x)
            cond = Cond(vector=vector).with_dropout(spec.cfg_dropout, generator)
        options = {"noise": noise, "time_weight": time_weight, "self_condition": self_condition}
        return process.training_loss(model, tokens, cond, generator, **options)

    return molecule_loss


def layout_warm_start(pipeline: MoleculeGenerator, donor: MoleculeGenerator, source: str):
    """``--init-from``: the donor's atom types and scales must be the run's; its data may differ."""
    theirs, ours = donor.codec.layout(), pipeline.codec.layout()
    if theirs != ours:
        raise ConfigError(f"--init-from {source}: atoms and scales {theirs}, the run's {ours}")
    warm_start(pipeline.model, donor.model, source)
    return pipeline


RECIPE = Recipe(
    "molecule", MoleculeTrainSpec, MoleculeGenerator, molecule_data, build, loss, layout_warm_start
)
