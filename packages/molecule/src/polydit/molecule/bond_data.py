"""QM9 bonds as data: a kekulised bond matrix per molecule from RDKit's bond determination.

For each molecule, RDKit's ``rdDetermineBonds.DetermineBonds`` (connectivity from covalent radii,
then bond orders for total charge 0) runs on its XYZ coordinates; the result is kept only when its
canonical SMILES (hydrogens removed, no stereo) equals that of the dataset's SMILES, so a kept
matrix is the dataset's own molecule. Bond orders are kekulised: 0 none, 1 single, 2 double,
3 triple (no aromatic class). The molecules that fail (bond determination raises, e.g. strained
bicyclics whose bonds exceed the radii, or a different molecule is found, e.g. zwitterions) are
dropped from bond-mode data. All 130,831 molecules take about a minute; the result is cached
beside the QM9 cache as a sparse bond list (``qm9_bonds_v{BONDS_VERSION}.npz``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from polydit.core.atomic import atomic_write
from polydit.molecule.chem import quiet_rdkit

BONDS_VERSION = 1
BOND_TYPES = ("none", "single", "double", "triple")


def canonical_smiles(mol) -> str:
    """RDKit canonical SMILES of `mol` with hydrogens removed and no stereo (a copy is changed)."""
    from rdkit import Chem

    copy = Chem.Mol(mol)
    Chem.RemoveStereochemistry(copy)
    return Chem.MolToSmiles(Chem.RemoveHs(copy), isomericSmiles=False)


def determine_bonds(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray | None:
    """(n, n) int8 kekulised bond orders RDKit determines from the coordinates (Å), total charge
    0; None where RDKit finds no valid bond ordering."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    mol = molecule_from_xyz(symbols, coords)
    with quiet_rdkit():
        try:
            rdDetermineBonds.DetermineBonds(mol, charge=0)
            Chem.Kekulize(mol, clearAromaticFlags=True)
        except (ValueError, RuntimeError):
            return None
    return bond_matrix(mol)


def molecule_from_xyz(symbols: Sequence[str], coords: np.ndarray):
    """An RDKit Mol of the atoms with a 3D conformer and no bonds (RDKit's XYZ reader)."""
    from rdkit import Chem

    xyz = np.asarray(coords, dtype=np.float64)
    rows = [f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(symbols, xyz, strict=True)]
    return Chem.MolFromXYZBlock("\n".join([str(len(symbols)), "", *rows]) + "\n")


def perceived_connectivity(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray:
    """(n, n) bool: the atom pairs RDKit's distance-based perception bonds
    (``rdDetermineBonds.DetermineConnectivity``, covalent radii)."""
    from rdkit.Chem import rdDetermineBonds

    mol = molecule_from_xyz(symbols, coords)
    with quiet_rdkit():
        rdDetermineBonds.DetermineConnectivity(mol)
    out = np.zeros((len(symbols),) * 2, dtype=bool)
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        out[i, j] = out[j, i] = True
    return out


def bond_matrix(mol) -> np.ndarray:
    """(n, n) int8 bond orders of a kekulised Mol (single 1, double 2, triple 3)."""
    from rdkit import Chem

    orders = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}
    out = np.zeros((mol.GetNumAtoms(),) * 2, dtype=np.int8)
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        out[i, j] = out[j, i] = orders[bond.GetBondType()]
    return out


def matching_bonds(symbols: Sequence[str], coords: np.ndarray, smiles: str) -> np.ndarray | None:
    """The bond matrix of :func:`determine_bonds` if its molecule is the one `smiles` names
    (canonical SMILES without H and stereo agree), else None."""
    from rdkit import Chem

    orders = determine_bonds(symbols, coords)
    found = None if orders is None else sanitised_molecule(symbols, orders)
    with quiet_rdkit():
        reference = Chem.MolFromSmiles(smiles)
    if reference is None or found is None:
        return None
    return orders if canonical_smiles(found) == canonical_smiles(reference) else None


def sanitised_molecule(symbols: Sequence[str], orders: np.ndarray):
    """The RDKit Mol of the atoms with bond orders (n, n) and explicit H only, sanitised; None
    where it does not sanitise (e.g. a charged atom, which a bond matrix cannot express)."""
    from rdkit import Chem

    from polydit.molecule.chem import build_molecule

    mol = build_molecule(symbols, np.zeros((len(symbols), 3)), orders)
    for atom in mol.GetAtoms():
        atom.SetNoImplicit(True)
    with quiet_rdkit():
        try:
            Chem.SanitizeMol(mol)
        except ValueError:
            return None
    return mol.GetMol()


def sparse_bonds(
    molecules: Sequence[tuple[Sequence[str], np.ndarray]], smiles: Sequence[str]
) -> dict[str, np.ndarray]:
    """The bonds of every molecule as a sparse list: ``keep`` (M,) bool (a matching bond matrix
    was found), ``pairs`` (E, 3) int8 rows (i, j, order) with i < j, ``offsets`` (M + 1,) int64
    (molecule m's rows are pairs[offsets[m]:offsets[m + 1]])."""
    keep = np.zeros(len(molecules), dtype=bool)
    rows, offsets = [], [0]
    for m, ((symbols, coords), name) in enumerate(zip(molecules, smiles, strict=True)):
        orders = matching_bonds(symbols, coords, name)
        if orders is not None:
            keep[m] = True
            i, j = np.nonzero(np.triu(orders))
            rows.append(np.stack([i, j, orders[i, j]], 1).astype(np.int8))
        offsets.append(offsets[-1] + (len(rows[-1]) if orders is not None else 0))
    pairs = np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int8)
    return {"keep": keep, "pairs": pairs, "offsets": np.asarray(offsets, dtype=np.int64)}


def dense_bonds(sparse: dict[str, np.ndarray], index: np.ndarray, max_atoms: int) -> np.ndarray:
    """(len(index), max_atoms, max_atoms) int8 symmetric bond matrices of the molecules `index`."""
    pairs, offsets = sparse["pairs"], sparse["offsets"]
    out = np.zeros((len(index), max_atoms, max_atoms), dtype=np.int8)
    for row, m in enumerate(index):
        i, j, order = pairs[offsets[m] : offsets[m + 1]].astype(np.int64).T
        out[row, i, j] = out[row, j, i] = order
    return out


def cached_sparse_bonds(path, compute) -> dict[str, np.ndarray]:
    """`compute()`'s sparse bonds, read from `path` (an .npz) when it exists, else written."""
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    arrays = compute()

    def write(f: io.BufferedIOBase) -> None:
        np.savez_compressed(f, **arrays)

    atomic_write(path, write)
    return arrays
