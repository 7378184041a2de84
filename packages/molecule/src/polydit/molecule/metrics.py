"""EDM's QM9 metrics (Hoogeboom et al. 2022, `qm9/analyze.py`, `qm9/rdkit_functions.py`).

An atom is *stable* when the sum of its EDM bond orders (:mod:`polydit.molecule.bonds`) equals
its allowed valence (H 1, C 4, N 3, O 2, F 1).

Denominators (N = generated molecules):
- atom_stability = stable atoms / all atoms of the N molecules;
- molecule_stability = molecules whose atoms are all stable / N;
- validity = molecules whose RDKit RWMol (those atoms and bond orders) sanitises / N; a valid
  molecule's SMILES is the canonical SMILES of its largest fragment;
- valid_and_connected = molecules whose whole RWMol sanitises and is one fragment / N (EDM's
  validity keeps the largest fragment; this one does not);
- uniqueness = distinct valid SMILES / valid molecules; valid_and_unique = distinct / N;
- novelty = distinct valid SMILES absent from the training SMILES / distinct valid SMILES (EDM);
  novelty_over_valid = the same count / valid molecules (ADiT's denominator).
Training SMILES are computed from the training molecules with the same procedure (as EDM does).
Bonds are EDM's, perceived from the coordinates, unless a molecule comes with its own bond
orders (a model that generates bonds): then stability and validity are computed from those
(:func:`generated_bond_metrics`, keys prefixed ``generated_bonds_``), beside how often RDKit's
distance-perceived connectivity agrees with the generated bonds:
- bond_agreement = molecules whose perceived bonded pairs are exactly the generated ones / N;
- bond_pair_agreement = |generated ∩ perceived| / |generated ∪ perceived| bonded pairs, summed
  over all molecules (1 when all agree).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from polydit.molecule.bonds import ALLOWED_VALENCE, bond_orders
from polydit.molecule.chem import (
    build_molecule,
    is_connected,
    largest_fragment_smiles,
    quiet_rdkit,
)


def atom_stability(
    symbols: Sequence[str], coords: np.ndarray, orders: np.ndarray | None = None
) -> np.ndarray:
    """(n,) bool: atom i's bond-order sum (of `orders` (n, n), else EDM's perceived bonds)
    equals its allowed valence."""
    valence = (bond_orders(symbols, coords) if orders is None else np.asarray(orders)).sum(1)
    return valence == np.array([ALLOWED_VALENCE[s] for s in symbols])


@dataclass(frozen=True)
class MoleculeReport:
    """Per-molecule results: stable atoms, atom count, SMILES (None = invalid), and whether
    the whole molecule is one fragment."""

    stable_atoms: int
    num_atoms: int
    smiles: str | None
    connected: bool = False

    @property
    def stable(self) -> bool:
        return self.stable_atoms == self.num_atoms

    @property
    def valid_and_connected(self) -> bool:
        return self.smiles is not None and self.connected


def analyse(
    symbols: Sequence[str], coords: np.ndarray, orders: np.ndarray | None = None
) -> MoleculeReport:
    """Stability and validity of one molecule, with the bond orders `orders` (n, n) when given,
    else EDM's perceived from the coordinates."""
    stable = int(atom_stability(symbols, coords, orders).sum())
    mol = build_molecule(symbols, coords, orders)
    connected = is_connected(mol)
    return MoleculeReport(stable, len(symbols), largest_fragment_smiles(mol), connected)


def edm_metrics(
    molecules: Iterable[tuple[Sequence[str], np.ndarray]],
    train_smiles: set[str] | None = None,
    orders: Iterable[np.ndarray] | None = None,
) -> dict[str, float]:
    """Every metric of the module docstring over (symbols, coords) molecules (with their bond
    orders (n, n) each when `orders` is given), plus the counts they are made of."""
    molecules = list(molecules)
    bonds = [None] * len(molecules) if orders is None else list(orders)
    if len(bonds) != len(molecules):
        raise ValueError(f"edm_metrics: {len(bonds)} bond matrices for {len(molecules)} molecules")
    with quiet_rdkit():
        reports = [analyse(s, c, b) for (s, c), b in zip(molecules, bonds, strict=True)]
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
        "num_valid_and_connected": sum(r.valid_and_connected for r in reports),
        "valid_and_connected": sum(r.valid_and_connected for r in reports) / n,
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


GENERATED_PREFIX = "generated_bonds_"


def generated_bond_metrics(
    molecules: Sequence[tuple[Sequence[str], np.ndarray]],
    orders: Sequence[np.ndarray],
    train_smiles: set[str] | None = None,
) -> dict[str, float]:
    """The metrics of :func:`edm_metrics` computed from the generated bond orders (n, n) of each
    molecule (keys prefixed ``generated_bonds_``), plus bond_agreement and bond_pair_agreement
    with RDKit's distance-perceived connectivity (module docstring)."""
    from polydit.molecule.bond_data import perceived_connectivity

    scores = edm_metrics(molecules, train_smiles, orders)
    out = {f"{GENERATED_PREFIX}{k}": v for k, v in scores.items()}
    same, both, either = 0, 0, 0
    for (symbols, coords), bonds in zip(molecules, orders, strict=True):
        generated = np.triu(np.asarray(bonds) > 0, 1)
        perceived = np.triu(perceived_connectivity(symbols, coords), 1)
        same += bool((generated == perceived).all())
        both += int((generated & perceived).sum())
        either += int((generated | perceived).sum())
    out["bond_agreement"] = same / len(molecules)
    out["bond_pair_agreement"] = both / either if either else 1.0
    return out
