"""The joint training set: a molecule set and a crystal set read as one stream of mixed batches.

``JointSet`` has ``len(molecules) + R`` positions: position i < M is molecule i, the R
positions after it cycle through the crystals, R chosen so that crystals are `crystal_fraction`
of the stream (R = round(M · f / (1 − f))). The core Trainer draws batches from a seeded
permutation of the positions, so a batch holds both kinds — on average a fraction f of crystals
(hypergeometric per batch) — and ``batch(indices)`` returns each kind's own batch under
"molecule" / "crystal" (a key is absent when a batch has none of that kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from polydit.core.errors import ConfigError
from polydit.molecule.crystal.data import CrystalSet, is_crystal_data
from polydit.molecule.data import MoleculeSet


def joint_data_parts(data: str | None) -> tuple[str, str] | None:
    """`train --data MOLECULES+CRYSTALS` (e.g. qm9+crystals) → (molecule data, crystal data);
    None for single-kind data. The second part must be crystal data."""
    if data is None or "+" not in data or Path(data).exists():
        return None
    molecules, _, crystals = data.partition("+")
    if not molecules or not is_crystal_data(crystals) or is_crystal_data(molecules):
        raise ConfigError(
            f"--data {data}: joint training takes MOLECULES+CRYSTALS, e.g. qm9+crystals "
            "(molecules: qm9, qm9-noh or an .sdf/.xyz file; crystals: crystals, a .cif file or "
            "a directory of them)"
        )
    return molecules, crystals


@dataclass
class JointSet:
    """Molecules and crystals as one stream of positions (module docstring)."""

    molecules: MoleculeSet
    crystals: CrystalSet
    crystal_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.crystal_fraction < 1.0:
            raise ConfigError(f"crystal_fraction must be in (0, 1), got {self.crystal_fraction}")

    @property
    def name(self) -> str:
        return f"{self.molecules.name}+{self.crystals.name}"

    @property
    def num_crystal_positions(self) -> int:
        f = self.crystal_fraction
        return max(1, round(len(self.molecules) * f / (1.0 - f)))

    def __len__(self) -> int:
        return len(self.molecules) + self.num_crystal_positions

    def __getitem__(self, index: int):
        return self.batch(torch.tensor([index]))

    def batch(self, indices: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
        """{"molecule": MoleculeSet.batch, "crystal": CrystalSet.batch} of the positions."""
        m = len(self.molecules)
        is_molecule = indices < m
        out = {}
        if bool(is_molecule.any()):
            out["molecule"] = self.molecules.batch(indices[is_molecule])
        if bool((~is_molecule).any()):
            out["crystal"] = self.crystals.batch((indices[~is_molecule] - m) % len(self.crystals))
        return out
