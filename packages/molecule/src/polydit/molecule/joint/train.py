"""Training the joint molecule + crystal DiT (``train --data qm9+crystals``): spec and loss.

Each batch mixes both kinds (:class:`JointSet`). Molecule rows get the molecule recipe (random
rotation, centred noise), crystal rows the crystal recipe (random wrapped translation, plain
noise); both are moved into the joint layout, padded to one length and trained with one masked
flow-matching MSE, conditioned on the class label of their kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from polydit.core.pipeline import SamplingConfig
from polydit.core.process import build_process
from polydit.core.tokens import Cond
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData
from polydit.molecule.codec import centre, rotated
from polydit.molecule.crystal.data import load_crystals
from polydit.molecule.crystal.train import CrystalTrainSpec, crystal_tokens
from polydit.molecule.data import fit_codec, load_dataset
from polydit.molecule.joint.codec import JointCodec, kind_label
from polydit.molecule.joint.data import JointSet, joint_data_parts
from polydit.molecule.joint.model import channel_masks, joint_dit_config
from polydit.molecule.joint.pipeline import JointGenerator
from polydit.molecule.model import AtomTrainSpec


@dataclass(frozen=True)
class JointTrainSpec(AtomTrainSpec):
    """What ``train --data MOLECULES+CRYSTALS --config`` can set. preset + hidden/depth/heads:
    the DiT size; pair_bias: the pair head on molecule rows; rotate / translate / centre_noise:
    each kind's recipe; crystal_fraction: the crystals' share of the samples; kind_channels: a
    row reads (and is noised on) only its kind's channels; own_channel_loss: a token's error is
    the mean over its kind's channels (not over all C, which weighs a molecule token 8/C and a
    crystal token about 9× more); max_atoms: the crystals' atom cap; *_sampling: each kind's."""

    pair_bias: bool = True
    rotate: bool = True
    translate: bool = True
    centre_noise: bool = True
    crystal_fraction: float = 0.25
    kind_channels: bool = True
    own_channel_loss: bool = False
    max_atoms: int = 20
    molecule_sampling: SamplingConfig = SamplingConfig(steps=100, sampler="ddpm")
    crystal_sampling: SamplingConfig = SamplingConfig(steps=100)
    train: TrainConfig = field(  # the crystal recipe's optimiser, 6,000 steps
        default_factory=lambda: CrystalTrainSpec().train.replace(steps=6000)
    )


def joint_data(spec: JointTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """``--data MOLECULES+CRYSTALS``: both training sets, mixed at ``crystal_fraction``."""
    molecules_name, crystals_name = joint_data_parts(source)
    skip_bad = flags.get("skip_bad", False)
    molecules, skipped = load_dataset(molecules_name, "train", skip_bad)
    crystals, messages = load_crystals(
        crystals_name, max_atoms=spec.max_atoms, seed=spec.train.seed, skip_bad=skip_bad
    )
    data = JointSet(molecules, crystals, spec.crystal_fraction)
    return TrainData(data, data.name, [*skipped, *messages])


def build(spec: JointTrainSpec, data: JointSet, seed: int) -> JointGenerator:
    """A fresh joint generator: the molecule codec of the molecules (the crystals' type scale),
    the crystal set's codec, each kind's histogram and data name."""
    settings = {"centre_noise": spec.centre_noise, "pair_bias": spec.pair_bias}
    molecule = fit_codec(data.molecules, type_scale=data.crystals.codec.type_scale, **settings)
    codec = JointCodec(molecule, data.crystals.codec, spec.kind_channels, spec.crystal_sampling)
    torch.manual_seed(seed)
    config = joint_dit_config(codec, spec.dit_size())
    model = JointGenerator.build_model(config, codec.to_dict())
    return JointGenerator(model, build_process(spec.process), spec.molecule_sampling, codec=codec)


def loss(spec: JointTrainSpec, pipeline: JointGenerator) -> LossFn:
    """loss(model, batch, generator) for :meth:`JointSet.batch` batches: with kind channels a
    row's noise (and so its target) is zero outside its kind's channels."""
    codec, process = pipeline.codec, pipeline.process
    masks = channel_masks(codec)
    own_masks = channel_masks(codec.replace(kind_channels=True))

    def joint_loss(model: torch.nn.Module, batch: dict[str, Any], generator) -> torch.Tensor:
        own = {}
        if "molecule" in batch:
            molecules = rotated(batch["molecule"], generator) if spec.rotate else batch["molecule"]
            own["molecule"] = codec.molecule.encode(molecules)
        if "crystal" in batch:
            crystals, translate = batch["crystal"], spec.translate
            own["crystal"] = crystal_tokens(codec.crystal, crystals, generator, translate)
        tokens, label = codec.join(own)
        label = label.to(tokens.x.device)
        noise = torch.randn(tokens.x.shape, generator=generator).to(tokens.x)
        noise = noise * masks.to(noise)[label][:, None, :]
        if codec.molecule.centre_noise:
            rows = label == kind_label("molecule")
            noise[rows] = centre(noise[rows], tokens.mask[rows])
        weights = own_masks.to(noise)[label] if spec.own_channel_loss else None
        return process.training_loss(
            model, tokens, Cond(labels=label), generator, noise=noise, channel_weight=weights
        )

    return joint_loss


RECIPE = Recipe("joint", JointTrainSpec, JointGenerator, joint_data, build, loss)
