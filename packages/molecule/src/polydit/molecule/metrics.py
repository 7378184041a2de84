"""EDM's QM9 metrics (Hoogeboom et al. 2022, `qm9/analyze.py`, `qm9/rdkit_functions.py`).

An atom is *stable* when the sum of its EDM bond orders (:mod:`polydit.molecule.bonds`) equals
its allowed valence (H 1, C 4, N 3, O 2, F 1).

Denominators (N = generated molecules):
- atom_stability = stable atoms / all atoms of the N molecules;
- molecule_stability = molecules whose atoms are all stable / N;
- validity = molecules whose RDKit RWMol (those atoms and bond orders) sanitises / N; a valid
  molecule's SMILES is the canonical SMILES of its largest fragment;
- uniqueness = distinct valid SMILES / valid molecules; valid_and_unique = distinct / N;
- novelty = distinct valid SMILES absent from the training SMILES / distinct valid SMILES (EDM);
  novelty_over_valid = the same count / valid molecules (ADiT's denominator).
Training SMILES are computed from the training molecules with the same procedure (as EDM does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from polydit.molecule.bonds import ALLOWED_VALENCE, bond_orders
from polydit.molecule.chem import build_molecule, largest_fragment_smiles, quiet_rdkit


def atom_stability(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray:
    """(n,) bool: atom i's bond-order sum equals its allowed valence."""
    valence = bond_orders(symbols, coords).sum(1)
    return valence == np.array([ALLOWED_VALENCE[s] for s in symbols])


@dataclass(frozen=True)
class MoleculeReport:
    """Per-molecule results: stable atoms, atom count, SMILES (None = invalid)."""

    stable_atoms: int
    num_atoms: int
    smiles: str | None

    @property
    def stable(self) -> bool:
        return self.stable_atoms == self.num_atoms


def analyse(symbols: Sequence[str], coords: np.ndarray) -> MoleculeReport:
    """Stability and validity of one molecule."""
    stable = int(atom_stability(symbols, coords).sum())
    smiles = largest_fragment_smiles(build_molecule(symbols, coords))
    return MoleculeReport(stable, len(symbols), smiles)


def edm_metrics(
    molecules: Iterable[tuple[Sequence[str], np.ndarray]],
    train_smiles: set[str] | None = None,
) -> dict[str, float]:
    """Every metric of the module docstring over (symbols, coords) molecules, plus the counts
    they are made of."""
    with quiet_rdkit():
        reports = [analyse(s, c) for s, c in molecules]
    n = len(reports)
    if n == 0:
        raise ValueError("edm_metrics needs at least one molecule")
    atoms = sum(r.num_atoms for r in reports)
    valid = [r.smiles for r in reports if r.smiles is not None]
    unique = set(valid)
    out: dict[str, float] = {
        "num_molecules": n,
        "num_atoms": atoms,
        "atom_stability": sum(r.stable_atoms for r in reports) / max(atoms, 1),
        "molecule_stability": sum(r.stable for r in reports) / n,
        "num_valid": len(valid),
        "validity": len(valid) / n,
        "num_unique": len(unique),
        "uniqueness": len(unique) / len(valid) if valid else 0.0,
        "valid_and_unique": len(unique) / n,
    }
    if train_smiles is not None:
        novel = len(unique - train_smiles)
        out["num_novel"] = novel
        out["novelty"] = novel / len(unique) if unique else 0.0
        out["novelty_over_valid"] = novel / len(valid) if valid else 0.0
    return out
