"""Molecule files: RDKit Mols with 3D conformers ↔ SDF / XYZ (every write is atomic), and the
records `sample` writes for generated molecules.

Generated molecules get EDM-perceived bonds (:mod:`polydit.molecule.chem`); a molecule
that does not sanitise is still written, with its property ``polydit_valid`` = 0.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError
from polydit.molecule.chem import build_molecule, largest_fragment_smiles, quiet_rdkit

VALID_PROP = "polydit_valid"
SMILES_PROP = "polydit_smiles"
SDF_NAME = "molecules.sdf"


def to_rdkit(symbols: Sequence[str], coords: np.ndarray):
    """An RDKit Mol: atoms, EDM bond orders, one 3D conformer (Å), explicit H (no implicit H
    added), sanitised if possible; int property ``polydit_valid`` and ``polydit_smiles``
    (largest fragment, "" if invalid)."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    with quiet_rdkit():
        smiles = largest_fragment_smiles(build_molecule(symbols, coords))
        mol = build_molecule(symbols, coords)
        for atom in mol.GetAtoms():
            atom.SetNoImplicit(True)
        if smiles is not None:
            Chem.SanitizeMol(mol)
        else:
            mol.UpdatePropertyCache(strict=False)
    conf = Chem.Conformer(len(symbols))
    conf.Set3D(True)
    for i, (x, y, z) in enumerate(np.asarray(coords, dtype=np.float64)):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    mol = mol.GetMol()
    mol.AddConformer(conf, assignId=True)
    mol.SetIntProp(VALID_PROP, int(smiles is not None))
    mol.SetProp(SMILES_PROP, smiles or "")
    return mol


def from_rdkit(mol) -> tuple[list[str], np.ndarray]:
    """(symbols, coords (n, 3)) of a Mol with a conformer."""
    if mol.GetNumConformers() == 0:
        raise DataError("molecule has no conformer")
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    return symbols, np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)


def write_sdf(path: str | Path, mols: Sequence) -> Path:
    """All `mols` (with their properties) into one SDF file, atomically."""
    from rdkit import Chem

    buffer = io.StringIO()
    with quiet_rdkit():
        writer = Chem.SDWriter(buffer)
        writer.SetKekulize(False)
        for i, mol in enumerate(mols):
            mol.SetProp("_Name", mol.GetProp("_Name") if mol.HasProp("_Name") else f"mol_{i}")
            writer.write(mol)
        writer.close()
    atomic_write_text(path, buffer.getvalue())
    return Path(path)


def write_records(
    directory: str | Path, mols: Sequence, seed: int, conditioning: dict[str, Any]
) -> list[dict[str, Any]]:
    """All `mols` into DIR/molecules.sdf and one record per molecule: its SDF record index,
    seed, atom count, validity, SMILES and the conditioning it was generated for."""
    write_sdf(Path(directory) / SDF_NAME, mols)
    return [
        {
            "file": SDF_NAME,
            "record": i,
            "seed": seed + i,
            "num_atoms": mol.GetNumAtoms(),
            "valid": bool(mol.GetIntProp(VALID_PROP)),
            "smiles": mol.GetProp(SMILES_PROP),
            "conditioning": conditioning,
        }
        for i, mol in enumerate(mols)
    ]


def read_sdf(path: str | Path, skip_bad: bool = False) -> tuple[list, list[str]]:
    """RDKit Mols (hydrogens kept, not sanitised) of an SDF file and the skipped records."""
    return split_records(_sdf_mols(Path(path)), skip_bad)


def split_records(records: Sequence, skip_bad: bool) -> tuple[list, list[str]]:
    """(good records, messages of the bad ones): a record that is a DataError is raised unless
    `skip_bad`, when it is skipped and reported."""
    good, bad = [], []
    for record in records:
        if isinstance(record, DataError):
            if not skip_bad:
                raise record
            bad.append(str(record))
        else:
            good.append(record)
    return good, bad


def _sdf_mols(path: Path) -> list:
    from rdkit import Chem

    text = _read_text(path)
    supplier = Chem.SDMolSupplier()
    supplier.SetData(text, sanitize=False, removeHs=False)
    out: list = []
    with quiet_rdkit():
        for i in range(len(supplier)):
            mol = supplier[i]
            if mol is None:
                out.append(
                    DataError(f"{path}: SDF record {i} is malformed (RDKit cannot parse it)")
                )
            elif mol.GetNumAtoms() == 0:
                out.append(DataError(f"{path}: SDF record {i} has no atoms"))
            elif mol.GetNumConformers() == 0 or not mol.GetConformer().Is3D():
                out.append(DataError(f"{path}: SDF record {i} has no 3D coordinates"))
            else:
                out.append(mol)
    if not out:
        raise DataError(f"{path}: no SDF record")
    return out


def read_sdf_records(path: Path) -> list:
    """(symbols, coords) per SDF record, or a DataError naming the file and record index."""
    return [r if isinstance(r, DataError) else from_rdkit(r) for r in _sdf_mols(path)]


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from None


def read_xyz_records(path: Path) -> list:
    """(symbols, coords) per record of a (multi-record) XYZ file, or a DataError naming the
    file and record index. A record is: atom count, comment, one `El x y z` line per atom."""
    from rdkit.Chem import GetPeriodicTable

    table = GetPeriodicTable()
    elements = {table.GetElementSymbol(z) for z in range(1, 119)}
    lines = _read_text(path).splitlines()
    out: list = []
    pos, index = 0, 0
    while pos < len(lines):
        if not lines[pos].strip():
            pos += 1
            continue
        try:
            n = int(lines[pos].split()[0])
            if n <= 0:
                raise ValueError
        except ValueError:
            out.append(
                DataError(f"{path}: XYZ record {index} line {pos + 1}: expected an atom count")
            )
            break
        body = lines[pos + 2 : pos + 2 + n]
        symbols, coords, error = [], [], None
        if len(body) < n:
            error = f"has {len(body)} atom lines, expected {n}"
        for k, line in enumerate(body):
            parts = line.split()
            try:
                symbols.append(parts[0].capitalize())
                if symbols[-1] not in elements:
                    raise ValueError
                coords.append([float(v) for v in parts[1:4]])
                if len(coords[-1]) != 3:
                    raise ValueError
            except (ValueError, IndexError):
                error = f"line {pos + 3 + k}: expected 'element x y z', got {line.strip()!r}"
                break
        if error:
            out.append(DataError(f"{path}: XYZ record {index} {error}"))
        else:
            out.append((symbols, np.array(coords, dtype=np.float64)))
        pos += 2 + n
        index += 1
    return out


def write_xyz(path: str | Path, molecules: Sequence[tuple[Sequence[str], np.ndarray]]) -> Path:
    """A multi-record XYZ file of (symbols, coords) molecules, atomically."""
    parts = []
    for i, (symbols, coords) in enumerate(molecules):
        rows = [f"{len(symbols)}", f"mol_{i}"]
        rows += [
            f"{s} {x:.6f} {y:.6f} {z:.6f}"
            for s, (x, y, z) in zip(symbols, np.asarray(coords), strict=True)
        ]
        parts.append("\n".join(rows))
    atomic_write_text(path, "\n".join(parts) + "\n")
    return Path(path)
