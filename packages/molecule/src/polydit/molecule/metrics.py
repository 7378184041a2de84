"""EDM's QM9 metrics (Hoogeboom et al. 2022, `qm9/analyze.py`, `qm9/rdkit_functions.py`).

Bond orders come from interatomic distances: with d in pm and the typical single/double/triple
bond lengths b1/b2/b3 of the pair (tables below, the covalent bond lengths EDM tabulates for
H, C, N, O, F), the order is 0 if d ≥ b1 + 10; else 1 unless the pair has a double bond length
and d < b2 + 5, then 2 unless it has a triple bond length and d < b3 + 3, then 3. An atom is
*stable* when the sum of its bond orders equals its allowed valence (H 1, C 4, N 3, O 2, F 1).

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

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

# Typical bond lengths in pm (pairs not listed have no such bond).
SINGLE = {
    ("H", "H"): 74, ("H", "C"): 109, ("H", "N"): 101, ("H", "O"): 96, ("H", "F"): 92,
    ("C", "C"): 154, ("C", "N"): 147, ("C", "O"): 143, ("C", "F"): 135,
    ("N", "N"): 145, ("N", "O"): 140, ("N", "F"): 136,
    ("O", "O"): 148, ("O", "F"): 142,
    ("F", "F"): 142,
}  # fmt: skip
DOUBLE = {("C", "C"): 134, ("C", "N"): 129, ("C", "O"): 120, ("N", "N"): 125, ("N", "O"): 121,
          ("O", "O"): 121}  # fmt: skip
TRIPLE = {("C", "C"): 120, ("C", "N"): 116, ("C", "O"): 113, ("N", "N"): 110}
MARGINS = (10, 5, 3)  # pm, added to single / double / triple lengths
ALLOWED_VALENCE = {"H": 1, "C": 4, "N": 3, "O": 2, "F": 1}


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Silence RDKit's log (sanitisation failures are reported through return values)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


def _table(lengths: dict[tuple[str, str], int], elements: Sequence[str]) -> np.ndarray:
    """Symmetric (K, K) array of lengths in pm; −inf where the pair has no such bond."""
    k = len(elements)
    out = np.full((k, k), -np.inf)
    for (a, b), v in lengths.items():
        if a in elements and b in elements:
            i, j = elements.index(a), elements.index(b)
            out[i, j] = out[j, i] = v
    return out


def bond_orders(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray:
    """(n, n) int EDM bond orders (0–3) of atoms `symbols` at `coords` (n, 3) in Å."""
    elements = sorted(set(symbols))
    unknown = [e for e in elements if e not in ALLOWED_VALENCE]
    if unknown:
        raise ValueError(f"EDM bond tables cover H, C, N, O, F only; got {', '.join(unknown)}")
    idx = np.array([elements.index(s) for s in symbols], dtype=np.int64)
    xyz = np.asarray(coords, dtype=np.float64)
    d = 100.0 * np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    pair = (idx[:, None], idx[None, :])
    b1, b2, b3 = (_table(t, elements)[pair] for t in (SINGLE, DOUBLE, TRIPLE))
    m1, m2, m3 = MARGINS
    single = d < b1 + m1
    order = single * (1 + (d < b2 + m2) * (1 + (d < b3 + m3)))
    np.fill_diagonal(order, 0)
    return order.astype(np.int64)


def atom_stability(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray:
    """(n,) bool: atom i's bond-order sum equals its allowed valence."""
    valence = bond_orders(symbols, coords).sum(1)
    return valence == np.array([ALLOWED_VALENCE[s] for s in symbols])


def build_molecule(symbols: Sequence[str], coords: np.ndarray):
    """An unsanitised RDKit RWMol of the atoms with EDM bond orders (no conformer)."""
    from rdkit import Chem

    kinds = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    mol = Chem.RWMol()
    for s in symbols:
        mol.AddAtom(Chem.Atom(s))
    orders = bond_orders(symbols, coords)
    for i, j in zip(*np.nonzero(np.triu(orders)), strict=True):
        mol.AddBond(int(i), int(j), kinds[int(orders[i, j])])
    return mol


def _sanitised_smiles(mol) -> str | None:
    from rdkit import Chem

    try:
        Chem.SanitizeMol(mol)
    except ValueError:  # RDKit's sanitisation errors (valence, kekulisation) are ValueErrors
        return None
    return Chem.MolToSmiles(mol)


def largest_fragment_smiles(mol) -> str | None:
    """EDM validity: None if `mol` does not sanitise, else the SMILES of its largest fragment."""
    from rdkit import Chem

    if _sanitised_smiles(mol) is None:
        return None
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    largest = max(fragments, default=mol, key=lambda m: m.GetNumAtoms())
    return _sanitised_smiles(Chem.RWMol(largest))


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
