"""Training a bond-mode model (``MoleculeTrainSpec.bonds``, :mod:`polydit.molecule.bond_model`):
the fitted processes and the loss.

One t per molecule for coordinates, atom types and bonds; randomly rotated molecules (the
network is not equivariant); coordinate noise centred over each molecule's atoms; the loss is
``λ_x · MSE(v̂, ε − x0) + λ_a · CE(atom types) + λ_b · CE(bonds over the pairs i < j)`` (the
coordinates' flow-matching velocity, :mod:`polydit.molecule.bond_model`). With
``self_condition`` half the batches (Chen et al. 2022) first run a gradient-free pass whose
estimate the trained pass sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from polydit.core.errors import ConfigError
from polydit.core.process import CategoricalConfig, class_frequencies
from polydit.core.process.base import ProcessConfig, masked_mse
from polydit.core.train import LossFn
from polydit.molecule.bond_model import NUM_BONDS, BondProcess, BondProcessConfig, run_network
from polydit.molecule.codec import centred_noise, rotated
from polydit.molecule.data import MoleculeSet, fit_codec

if TYPE_CHECKING:
    from polydit.molecule.bond_pipeline import BondGenerator
    from polydit.molecule.train import MoleculeTrainSpec


def fitted_process(spec: MoleculeTrainSpec, data: MoleculeSet) -> BondProcessConfig:
    """Marginal transitions towards `data`'s atom-type and bond-type frequencies (DiGress/MiDi;
    bonds over the pairs i < j of real atoms, "none" included), the spec's coordinate
    t-sampling and loss weights."""
    types = torch.from_numpy(data.types)
    k = len(data.atom_types)
    bonded = np.bincount(data.bonds.ravel().astype(np.int64), minlength=NUM_BONDS) // 2
    pairs = int((data.num_atoms * (data.num_atoms - 1) // 2).sum())
    counts = [pairs - int(bonded[1:].sum()), *bonded[1:].tolist()]

    def marginal(frequencies: tuple[float, ...]) -> CategoricalConfig:
        return CategoricalConfig(
            num_classes=len(frequencies), transition="marginal", marginals=frequencies
        )

    coords = ProcessConfig(
        prediction="velocity",
        t_sampling=spec.process.t_sampling,
        logit_loc=spec.process.logit_loc,
        logit_scale=spec.process.logit_scale,
    )
    return BondProcessConfig(
        coords=coords,
        types=marginal(class_frequencies(types.clamp_min(0), k, types >= 0)),
        bonds=marginal(tuple(c / pairs for c in counts)),
        coord_weight=spec.coord_weight,
        type_weight=spec.type_weight,
        bond_weight=spec.bond_weight,
    )


def build(spec: MoleculeTrainSpec, data: MoleculeSet, seed: int) -> BondGenerator:
    """A fresh bond-mode generator fitted to `data` (alphabet, atom counts, marginals)."""
    from polydit.molecule.bond_model import network_config
    from polydit.molecule.bond_pipeline import BondGenerator, BondSampling

    if data.bonds is None:
        raise ConfigError(f"bonds: the data {data.name!r} has no bond matrices")
    codec = fit_codec(data, coord_scale=1.0, centre_noise=True, bonds=True)
    process = BondProcess(fitted_process(spec, data))
    torch.manual_seed(seed)
    size, k = spec.dit_size(), len(codec.atom_types)
    net = network_config(k, size, spec.edge_hidden, self_condition=spec.self_condition)
    model = BondGenerator.build_model(net, codec.to_dict())
    sampling = BondSampling(steps=spec.sampling.steps)
    return BondGenerator(model, process, sampling, codec=codec)


def loss(spec: MoleculeTrainSpec, pipeline: BondGenerator) -> LossFn:
    """loss(model, batch, generator) → {"loss", "coords", "types", "bonds"} (module docstring)."""
    process, codec = pipeline.process, pipeline.codec
    cfg = process.config
    self_condition = 0.5 if spec.self_condition else 0.0  # Chen et al.: half the batches

    def bond_loss(model: torch.nn.Module, batch: dict, generator) -> dict[str, torch.Tensor]:
        tokens, bonds = codec.encode_bonds(rotated(batch, generator) if spec.rotate else batch)
        mask = tokens.mask
        x0, types = tokens.x[..., :3], batch["types"].clamp_min(0).to(mask.device)
        t = process.coords.sample_t(x0.shape[0], generator, x0.device)
        noise = centred_noise(tuple(x0.shape), mask, generator).to(x0)
        xt, velocity = process.coords.corrupt(x0, t, noise)
        xt = xt * mask[..., None]
        types_t = torch.where(mask, process.types.corrupt(types, t, generator), 0)
        bonds_t = process.corrupt_bonds(bonds, t, mask, generator)
        previous = None
        if self_condition and float(torch.rand((), generator=generator)) < self_condition:
            with torch.no_grad():
                previous = run_network(model, xt, types_t, bonds_t, mask, t)
        out = run_network(model, xt, types_t, bonds_t, mask, t, previous)
        upper = torch.triu(mask[:, :, None] & mask[:, None, :], 1)
        scores = {
            "coords": masked_mse(out.velocity, velocity, mask),
            "types": process.types.loss(out.type_logits, types, mask),
            "bonds": process.bonds.loss(out.bond_logits, bonds, upper),
        }
        total = cfg.coord_weight * scores["coords"] + cfg.type_weight * scores["types"]
        return {"loss": total + cfg.bond_weight * scores["bonds"], **scores}

    return bond_loss
