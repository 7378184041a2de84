"""Molecule files: RDKit Mols with 3D conformers ↔ SDF / XYZ (every write is atomic), and the
records `sample` writes for generated molecules.

Generated molecules get EDM-perceived bonds (:mod:`polydit.molecule.chem`), or the bonds a
bond-mode model generated with them, and per-molecule
properties: ``polydit_valid`` (EDM validity), ``polydit_connected`` (one fragment),
``polydit_closed_shell`` (no radical electrons), ``polydit_smiles`` (EDM's largest-fragment
SMILES) and ``polydit_canonical_smiles`` (RDKit canonical SMILES without hydrogens), the SMILES
empty where the molecule does not sanitise. `sample` writes every molecule: those RDKit reads
back with sanitisation (``Chem.SDMolSupplier``'s default) into molecules.sdf, the others into
invalid.sdf with RDKit's error as ``polydit_rdkit_error`` (a file is written when it has records).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError
from polydit.molecule.chem import (
    build_molecule,
    heavy_atom_smiles,
    is_connected,
    largest_fragment_smiles,
    quiet_rdkit,
    radical_electrons,
)

VALID_PROP = "polydit_valid"
SMILES_PROP = "polydit_smiles"
CONNECTED_PROP = "polydit_connected"
CLOSED_SHELL_PROP = "polydit_closed_shell"
CANONICAL_SMILES_PROP = "polydit_canonical_smiles"
RDKIT_ERROR_PROP = "polydit_rdkit_error"
SDF_NAME = "molecules.sdf"
INVALID_SDF_NAME = "invalid.sdf"


def to_rdkit(symbols: Sequence[str], coords: np.ndarray, orders: np.ndarray | None = None):
    """An RDKit Mol: atoms, bond orders `orders` (n, n) (e.g. generated bonds; default EDM's
    perceived from the coordinates), one 3D conformer (Å), explicit H (no implicit H added),
    sanitised if possible; int properties ``polydit_valid``, ``polydit_connected``,
    ``polydit_closed_shell`` and the SMILES ``polydit_smiles`` (largest fragment) and
    ``polydit_canonical_smiles`` (heavy atoms), both "" if invalid."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    with quiet_rdkit():
        smiles = largest_fragment_smiles(build_molecule(symbols, coords, orders))
        mol = build_molecule(symbols, coords, orders)
        for atom in mol.GetAtoms():
            atom.SetNoImplicit(True)
        if smiles is not None:
            Chem.SanitizeMol(mol)
        else:
            mol.UpdatePropertyCache(strict=False)
        canonical = heavy_atom_smiles(mol) if smiles is not None else ""
        closed_shell = radical_electrons(mol) == 0
    conf = Chem.Conformer(len(symbols))
    conf.Set3D(True)
    for i, (x, y, z) in enumerate(np.asarray(coords, dtype=np.float64)):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    mol = mol.GetMol()
    mol.AddConformer(conf, assignId=True)
    mol.SetIntProp(VALID_PROP, int(smiles is not None))
    mol.SetIntProp(CONNECTED_PROP, int(is_connected(mol)))
    mol.SetIntProp(CLOSED_SHELL_PROP, int(closed_shell))
    mol.SetProp(SMILES_PROP, smiles or "")
    mol.SetProp(CANONICAL_SMILES_PROP, canonical)
    return mol


def from_rdkit(mol) -> tuple[list[str], np.ndarray]:
    """(symbols, coords (n, 3)) of a Mol with a conformer."""
    if mol.GetNumConformers() == 0:
        raise DataError("molecule has no conformer")
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    return symbols, np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)


def sdf_record(mol, name: str) -> str:
    """One SDF record (molfile + properties + ``$$$$``) of `mol`, titled `name` unless it has a
    ``_Name``; aromatic bonds are written as such (not kekulised)."""
    from rdkit import Chem

    mol.SetProp("_Name", mol.GetProp("_Name") if mol.HasProp("_Name") else name)
    buffer = io.StringIO()
    with quiet_rdkit():
        writer = Chem.SDWriter(buffer)
        writer.SetKekulize(False)
        writer.write(mol)
        writer.close()
    return buffer.getvalue()


def write_sdf(path: str | Path, mols: Sequence) -> Path:
    """All `mols` (with their properties) into one SDF file, atomically."""
    atomic_write_text(path, "".join(sdf_record(mol, f"mol_{i}") for i, mol in enumerate(mols)))
    return Path(path)


def read_back_error(record: str) -> str | None:
    """None if RDKit reads the SDF `record` back as ``Chem.SDMolSupplier`` does by default
    (sanitised, hydrogens removed), else RDKit's reason (e.g. "Explicit valence for atom # 3 C,
    5, is greater than permitted")."""
    from rdkit import Chem

    supplier = Chem.SDMolSupplier()
    with quiet_rdkit():
        supplier.SetData(record)
        if supplier[0] is not None:
            return None
        supplier.SetData(record, sanitize=False, removeHs=False)
        mol = supplier[0]
        if mol is None:
            return "RDKit cannot parse the record"
        try:
            Chem.SanitizeMol(mol)
            Chem.RemoveHs(mol)
        except (ValueError, RuntimeError) as e:
            return " ".join(str(e).split())
    return "RDKit cannot read the record back"


def write_records(
    directory: str | Path,
    mols: Sequence,
    seed: int,
    conditioning: dict[str, Any],
    written: dict[str, int] | None = None,
    first: int = 0,
) -> list[dict[str, Any]]:
    """`mols` into DIR/molecules.sdf (those RDKit reads back with sanitisation) and
    DIR/invalid.sdf (the others, with ``polydit_rdkit_error``); a file without records is not
    written (RDKit refuses empty SDF files). One record per molecule: its file and record index
    there, seed, atom count, the flags and SMILES of :func:`to_rdkit`, RDKit's error (None in
    molecules.sdf) and the conditioning.

    Streaming: `written` maps a file name to the records earlier batches put there (those files
    are appended to, and the counts updated); `first` numbers the titles (``mol_{first + i}``)."""
    written = {} if written is None else written
    files: dict[str, list[str]] = {SDF_NAME: [], INVALID_SDF_NAME: []}
    records = []
    for i, mol in enumerate(mols):
        title = f"mol_{first + i}"
        record = sdf_record(mol, title)
        error = read_back_error(record)
        if error is not None:
            mol.SetProp(RDKIT_ERROR_PROP, error)
            record = sdf_record(mol, title)
        name = SDF_NAME if error is None else INVALID_SDF_NAME
        records.append(
            {
                "file": name,
                "record": written.get(name, 0) + len(files[name]),
                "seed": seed + i,
                "num_atoms": mol.GetNumAtoms(),
                "valid": bool(mol.GetIntProp(VALID_PROP)),
                "connected": bool(mol.GetIntProp(CONNECTED_PROP)),
                "closed_shell": bool(mol.GetIntProp(CLOSED_SHELL_PROP)),
                "smiles": mol.GetProp(SMILES_PROP),
                "canonical_smiles": mol.GetProp(CANONICAL_SMILES_PROP),
                "rdkit_error": error,
                "conditioning": conditioning,
            }
        )
        files[name].append(record)
    for name, texts in files.items():
        if not texts:
            continue
        if written.get(name, 0):
            with open(Path(directory) / name, "a", encoding="utf-8") as f:
                f.write("".join(texts))
        else:
            atomic_write_text(Path(directory) / name, "".join(texts))
        written[name] = written.get(name, 0) + len(texts)
    return records


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
