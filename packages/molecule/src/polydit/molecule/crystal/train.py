"""Training a crystal DiT (``polydit-molecule train --data crystals|CIF|DIR``): spec and loss.

Loss: the core flow-matching MSE over the lattice token and the atom tokens (standardised
lattice parameters, fractional coordinates in [−1, 1), one-hot elements), after a uniformly
random translation of every cell with wrap-around of the fractional coordinates (ADiT's crystal
augmentation; rotations do not change fractional coordinates). Padding carries no loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import build_process
from polydit.core.tokens import Tokens
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData
from polydit.molecule.crystal.codec import CrystalCodec
from polydit.molecule.crystal.data import CrystalSet, load_crystals
from polydit.molecule.crystal.pipeline import CrystalGenerator
from polydit.molecule.model import AtomTrainSpec


@dataclass(frozen=True)
class CrystalTrainSpec(AtomTrainSpec):
    """Everything ``train --data crystals --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size (:data:`polydit.molecule.model.PRESETS`);
    translate: random-translation augmentation; max_atoms: the per-cell atom cap.
    """

    translate: bool = True
    max_atoms: int = 20
    sampling: SamplingConfig = SamplingConfig(steps=100)
    train: TrainConfig = TrainConfig(
        steps=3000, lr=1e-3, schedule="constant", checkpoint_every=250, keep_checkpoints=100
    )


def crystal_data(spec: CrystalTrainSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The built-in crystals or the user's CIF files (``--skip-bad``), at most max_atoms each."""
    data, skipped = load_crystals(
        source or "crystals",
        max_atoms=spec.max_atoms,
        seed=spec.train.seed,
        skip_bad=flags.get("skip_bad", False),
    )
    return TrainData(data, data.name, skipped)


def build(spec: CrystalTrainSpec, data: CrystalSet, seed: int) -> CrystalGenerator:
    """A fresh generator over the set's codec: a DiT with a fixed sin-cos embedding of
    Tokens.pos (lattice token 0, atoms 1, which stay an unordered set)."""
    torch.manual_seed(seed)
    size = spec.dit_size()
    config = DiTConfig(
        in_dim=data.codec.channels, pos_embed="sincos", pos_axes=1, qk_norm=True, **size
    )
    return CrystalGenerator(
        DiT(config), build_process(spec.process), spec.sampling, codec=data.codec
    )


def translate(tokens: Tokens, codec: CrystalCodec, generator: torch.Generator) -> Tokens:
    """Every cell's fractional coordinates shifted by one uniform vector, wrapped into [0, 1);
    padding zeroed."""
    x = tokens.x.clone()
    shift = torch.rand(x.shape[0], 1, 3, generator=generator)
    x[:, 1:, :3] = codec.frac_to_tokens((codec.tokens_to_frac(x[:, 1:, :3]) + shift) % 1.0)
    return tokens.with_x(x * tokens.mask[..., None])


def crystal_tokens(
    codec: CrystalCodec, batch: dict[str, torch.Tensor], generator, augment: bool
) -> Tokens:
    """A training batch as tokens (B, 1 + N, C), every cell translated at random when `augment`."""
    tokens = codec.encode(batch)
    return translate(tokens, codec, generator) if augment else tokens


def loss(spec: CrystalTrainSpec, pipeline: CrystalGenerator) -> LossFn:
    """loss(model, batch, generator): encode, translate (``spec.translate``), masked MSE."""

    def crystal_loss(model: torch.nn.Module, batch: dict, generator) -> torch.Tensor:
        tokens = crystal_tokens(pipeline.codec, batch, generator, spec.translate)
        return pipeline.process.training_loss(model, tokens, None, generator)

    return crystal_loss


RECIPE = Recipe("crystal", CrystalTrainSpec, CrystalGenerator, crystal_data, build, loss)
