"""RDKit molecules from atoms: EDM-perceived bonds (:mod:`polydit.molecule.bonds`), sanitisation,
the largest-fragment SMILES that EDM's validity uses (`qm9/rdkit_functions.py`) and the
per-molecule facts `sample` records (connectivity, radicals, heavy-atom SMILES)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from polydit.molecule.bonds import bond_orders


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Silence RDKit's log (sanitisation failures are reported through return values)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


def build_molecule(symbols: Sequence[str], coords: np.ndarray, orders: np.ndarray | None = None):
    """An unsanitised RDKit RWMol of the atoms with bond orders `orders` (n, n) in {0, 1, 2, 3}
    (e.g. generated bonds), else EDM's perceived from the coordinates (no conformer)."""
    from rdkit import Chem

    kinds = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    mol = Chem.RWMol()
    for s in symbols:
        mol.AddAtom(Chem.Atom(s))
    orders = bond_orders(symbols, coords) if orders is None else np.asarray(orders)
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


def is_connected(mol) -> bool:
    """`mol`'s bonds join all its atoms into one fragment."""
    from rdkit import Chem

    return len(Chem.GetMolFrags(mol)) == 1


def radical_electrons(mol) -> int:
    """Radical electrons of `mol` as RDKit assigns them (`AssignRadicals`, on a copy, so also for
    a molecule that does not sanitise): the valence an atom lacks when it may add no implicit H."""
    from rdkit import Chem

    copy = Chem.Mol(mol)
    copy.UpdatePropertyCache(strict=False)
    Chem.AssignRadicals(copy)
    return sum(atom.GetNumRadicalElectrons() for atom in copy.GetAtoms())


def heavy_atom_smiles(mol) -> str:
    """RDKit's canonical SMILES of a sanitised `mol` with its hydrogens removed (all fragments)."""
    from rdkit import Chem

    return Chem.MolToSmiles(Chem.RemoveHs(mol))
