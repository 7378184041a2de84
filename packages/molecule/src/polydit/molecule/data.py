"""Molecule data sets: QM9 from qm9pack's bundled CSV files, and users' SDF / XYZ files.

A :class:`MoleculeSet` holds padded arrays: ``types`` (M, N) int64 indices into its ``atom_types``
alphabet (−1 = padding), ``coords`` (M, N, 3) float32 Cartesian coordinates in Å, centred on the
mean of each molecule's atoms (padding rows are 0), ``num_atoms`` (M,), one SMILES per molecule
and optionally ``bonds`` (M, N, N) int8 bond orders (0 none, 1–3; QM9's from
:mod:`polydit.molecule.bond_data`, for the bond mode). QM9 follows EDM: the 130,831 molecules
of qm9pack, permuted with a fixed seed and split 100,000 train / 17,748 validation / 13,083 test
(test = int(0.1 · 130,831)).
"""

from __future__ import annotations

import importlib.resources
import io
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from polydit.core.atomic import atomic_write
from polydit.core.errors import ConfigError, DataError
from polydit.molecule.bond_data import (
    BONDS_VERSION,
    cached_sparse_bonds,
    dense_bonds,
    sparse_bonds,
)
from polydit.molecule.bonds import ALLOWED_VALENCE
from polydit.molecule.codec import QM9_ATOMS, MoleculeCodec

QM9_SIZE = 130_831
QM9_TRAIN = 100_000
QM9_TEST = int(0.1 * QM9_SIZE)  # 13,083
QM9_VAL = QM9_SIZE - QM9_TRAIN - QM9_TEST  # 17,748
SPLITS = ("train", "val", "test", "all")
BUILTINS = ("qm9", "qm9-noh")
CACHE_VERSION = 1
HARTREE_TO_EV = 27.211386
_BARE_DOT = re.compile(r"\.(?=[,\]])")  # qm9pack writes 0. and 1. (not JSON)


@dataclass
class MoleculeSet:
    """Padded molecules (see module docstring); ``gap`` (M,) HOMO–LUMO gap in eV or None;
    ``bonds`` (M, N, N) int8 bond orders or None."""

    name: str
    atom_types: tuple[str, ...]
    types: np.ndarray
    coords: np.ndarray
    num_atoms: np.ndarray
    smiles: list[str]
    gap: np.ndarray | None = None
    sources: list[str] = field(default_factory=list)
    bonds: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.num_atoms)

    @property
    def max_atoms(self) -> int:
        return int(self.types.shape[1])

    def subset(self, index: np.ndarray) -> MoleculeSet:
        """The molecules at `index`, padded to their own largest size."""
        n = int(self.num_atoms[index].max()) if len(index) else 0
        return MoleculeSet(
            self.name,
            self.atom_types,
            self.types[index, :n],
            self.coords[index, :n],
            self.num_atoms[index],
            [self.smiles[i] for i in index],
            None if self.gap is None else self.gap[index],
            [self.sources[i] for i in index] if self.sources else [],
            None if self.bonds is None else self.bonds[index, :n, :n],
        )

    def molecule(self, i: int) -> tuple[list[str], np.ndarray]:
        """(element symbols, coordinates (n, 3)) of molecule `i`."""
        n = int(self.num_atoms[i])
        return [self.atom_types[t] for t in self.types[i, :n]], self.coords[i, :n]

    def size_histogram(self) -> list[int]:
        """counts[n] = number of molecules with n atoms, n = 0 .. max_atoms."""
        return np.bincount(self.num_atoms, minlength=self.max_atoms + 1).tolist()

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        """The Trainer's batch: types (K, n) long (−1 pad), coords (K, n, 3), mask (K, n) bool,
        trimmed to the largest molecule among `indices`; + gap (K,) eV when the set has gaps;
        + bonds (K, n, n) long when it has bonds."""
        idx = indices.numpy()
        n = int(self.num_atoms[idx].max())
        types = torch.from_numpy(self.types[idx, :n])
        batch = {
            "types": types,
            "coords": torch.from_numpy(self.coords[idx, :n]),
            "mask": types >= 0,
        }
        if self.gap is not None:
            batch["gap"] = torch.from_numpy(np.asarray(self.gap[idx], dtype=np.float32))
        if self.bonds is not None:
            batch["bonds"] = torch.from_numpy(self.bonds[idx, :n, :n].astype(np.int64))
        return batch


def fit_codec(data: MoleculeSet, gap: bool = False, **settings: Any) -> MoleculeCodec:
    """A codec over `data`'s alphabet and atom-count histogram, named after it; with `gap`, the
    (mean, std) of its HOMO–LUMO gaps; `settings`: the other MoleculeCodec fields."""
    if gap and data.gap is None:
        raise ConfigError(f"condition_gap: the data {data.name!r} has no HOMO–LUMO gaps")
    stats = (float(data.gap.mean()), float(data.gap.std())) if gap else None
    histogram = tuple(data.size_histogram())
    return MoleculeCodec(
        data.atom_types, size_histogram=histogram, data=data.name, gap=stats, **settings
    )


def pad_molecules(
    molecules: Sequence[tuple[Sequence[str], np.ndarray]],
    atom_types: tuple[str, ...],
    where: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded (types, centred coords, num_atoms) of (symbols, coords) pairs; an element outside
    `atom_types` is a DataError naming `where[i]`."""
    index = {a: i for i, a in enumerate(atom_types)}
    num = np.array([len(s) for s, _ in molecules], dtype=np.int64)
    n = int(num.max()) if len(num) else 0
    types = np.full((len(molecules), n), -1, dtype=np.int64)
    coords = np.zeros((len(molecules), n, 3), dtype=np.float32)
    for i, (symbols, xyz) in enumerate(molecules):
        unknown = sorted(set(symbols) - set(index))
        if unknown:
            place = where[i] if where else f"molecule {i}"
            raise DataError(
                f"{place}: element(s) {', '.join(unknown)} are not in the alphabet "
                f"{', '.join(atom_types)}"
            )
        k = len(symbols)
        types[i, :k] = [index[s] for s in symbols]
        xyz = np.asarray(xyz, dtype=np.float64)
        coords[i, :k] = (xyz - xyz.mean(0)).astype(np.float32)
    return types, coords, num


# --- QM9 -------------------------------------------------------------------------------------


def qm9_csv_files() -> list[Path]:
    """The three qm9pack CSV parts (read directly; qm9pack's own loader needs pkg_resources).
    Importing qm9pack imports pkg_resources, whose deprecation warning (a UserWarning) is
    filtered here, the only place polydit imports qm9pack."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        root = importlib.resources.files("qm9pack") / "data"
    return [Path(str(root / f"qm9_part{i}.csv")) for i in (1, 2, 3)]


def cache_dir() -> Path:
    """Where parsed data is cached: $POLYDIT_CACHE or ~/.cache/polydit, then molecule/."""
    base = os.environ.get("POLYDIT_CACHE") or Path.home() / ".cache" / "polydit"
    return Path(base) / "molecule"


def _parse_qm9_csvs() -> dict[str, np.ndarray]:
    import pandas as pd

    cols = ["Index", "SMILES", "Elements", "XYZ_Ang", "HOMO_LUMO_gap_au"]
    frames = [pd.read_csv(p, usecols=cols) for p in qm9_csv_files()]
    df = pd.concat(frames, ignore_index=True).sort_values("Index", kind="stable")
    if len(df) != QM9_SIZE:
        raise DataError(f"qm9pack CSVs hold {len(df)} molecules; expected {QM9_SIZE}")
    molecules, where = [], []
    for idx, elements, xyz in zip(df.Index, df.Elements, df.XYZ_Ang, strict=True):
        symbols = [s.strip().strip("'\"") for s in elements.strip("[]").split(",")]
        molecules.append(
            (symbols, np.array(json.loads(_BARE_DOT.sub(".0", xyz)), dtype=np.float64))
        )
        where.append(f"qm9pack molecule {idx}")
    types, coords, num = pad_molecules(molecules, QM9_ATOMS, where)
    return {
        "types": types.astype(np.int8),
        "coords": coords,
        "num_atoms": num,
        "smiles": np.array(df.SMILES.tolist()),
        "gap": (df.HOMO_LUMO_gap_au.to_numpy() * HARTREE_TO_EV).astype(np.float32),
        "index": df.Index.to_numpy(),
    }


def _qm9_arrays() -> dict[str, np.ndarray]:
    path = cache_dir() / f"qm9_v{CACHE_VERSION}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    arrays = _parse_qm9_csvs()

    def write(f: io.BufferedIOBase) -> None:
        np.savez(f, **arrays)

    atomic_write(path, write)
    return arrays


def qm9_split_indices(split: str, seed: int = 0) -> np.ndarray:
    """Indices into the 130,831 molecules (qm9pack order) of an EDM-sized split."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    perm = np.random.default_rng(seed).permutation(QM9_SIZE)
    bounds = {
        "train": (0, QM9_TRAIN),
        "val": (QM9_TRAIN, QM9_TRAIN + QM9_VAL),
        "test": (QM9_TRAIN + QM9_VAL, QM9_SIZE),
        "all": (0, QM9_SIZE),
    }[split]
    return np.sort(perm[bounds[0] : bounds[1]])


def qm9_bonds() -> dict[str, np.ndarray]:
    """Sparse bonds of all QM9 molecules (:func:`polydit.molecule.bond_data.sparse_bonds`, in
    qm9pack order), computed once and cached beside the QM9 cache."""

    def compute() -> dict[str, np.ndarray]:
        arrays = _qm9_arrays()
        atoms = [
            ([QM9_ATOMS[t] for t in arrays["types"][m, :n]], arrays["coords"][m, :n])
            for m, n in enumerate(arrays["num_atoms"])
        ]
        return sparse_bonds(atoms, arrays["smiles"].tolist())

    path = cache_dir() / f"qm9_bonds_v{BONDS_VERSION}_qm9v{CACHE_VERSION}.npz"
    return cached_sparse_bonds(path, compute)


def load_qm9(
    split: str = "train", *, hydrogens: bool = True, seed: int = 0, bonds: bool = False
) -> MoleculeSet:
    """QM9 (with or without hydrogens) restricted to an EDM-sized split (see module docstring);
    with `bonds` (hydrogens only), the molecules whose RDKit bonds match their SMILES, with
    their bond matrices (:mod:`polydit.molecule.bond_data`)."""
    if bonds and not hydrogens:
        raise ConfigError(
            "bonds: the QM9 bond matrices are defined with hydrogens (qm9, not qm9-noh)"
        )
    arrays = _qm9_arrays()
    idx = qm9_split_indices(split, seed)
    matrices = None
    if bonds:
        sparse = qm9_bonds()
        idx = idx[sparse["keep"][idx]]
        matrices = dense_bonds(sparse, idx, arrays["types"].shape[1])
    types = arrays["types"][idx].astype(np.int64)
    coords = arrays["coords"][idx]
    num = arrays["num_atoms"][idx]
    if not hydrogens:
        types, coords, num = _drop_hydrogens(types, coords)
    name = "qm9" if hydrogens else "qm9-noh"
    smiles, gap = arrays["smiles"][idx].tolist(), arrays["gap"][idx]
    data = MoleculeSet(name, QM9_ATOMS, types, coords, num, smiles, gap, bonds=matrices)
    return data.subset(np.arange(len(data))) if not hydrogens or bonds else data


def _drop_hydrogens(
    types: np.ndarray, coords: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove H (type 0), re-pack left and re-centre on the heavy atoms."""
    keep = types > 0
    order = np.argsort(~keep, axis=1, kind="stable")
    types = np.take_along_axis(types, order, 1)
    coords = np.take_along_axis(coords, order[..., None], 1)
    keep = types > 0
    types = np.where(keep, types, -1)
    num = keep.sum(1)
    mean = (coords * keep[..., None]).sum(1) / np.maximum(num, 1)[:, None]
    coords = np.where(keep[..., None], coords - mean[:, None], 0).astype(np.float32)
    return types, coords, num


# --- users' files ----------------------------------------------------------------------------


def read_molecules(
    path: str | Path, skip_bad: bool = False
) -> tuple[list[tuple[list[str], np.ndarray]], list[str]]:
    """(symbols, coords) of every record of an SDF or XYZ file (hydrogens kept), and the
    descriptions of skipped records. A malformed record, or one with non-finite coordinates or
    an element outside H, C, N, O, F, is a DataError naming the file and record index unless
    `skip_bad`, when it is skipped and reported."""
    from polydit.molecule.io import read_sdf_records, read_xyz_records, split_records

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".sdf", ".mol"):
        records = read_sdf_records(path)
    elif suffix == ".xyz":
        records = read_xyz_records(path)
    else:
        raise DataError(f"{path}: unsupported molecule file type {suffix!r} (use .sdf or .xyz)")
    records = [
        r if isinstance(r, DataError) else _usable(r, f"{path}: record {i}")
        for i, r in enumerate(records)
    ]
    good, bad = split_records(records, skip_bad)
    if not good:
        raise DataError(f"{path}: no readable molecule")
    return good, bad


def _usable(
    record: tuple[list[str], np.ndarray], where: str
) -> tuple[list[str], np.ndarray] | DataError:
    """`record` (symbols, coords), or a DataError starting with `where` if its coordinates are
    not finite or it has an element outside EDM's bond tables (H, C, N, O, F), from which
    validity, SMILES and the bonds of written molecules are perceived."""
    symbols, coords = record
    if not np.isfinite(coords).all():
        return DataError(f"{where}: coordinates are not finite (NaN or inf)")
    unknown = sorted(set(symbols) - set(ALLOWED_VALENCE))
    if unknown:
        return DataError(
            f"{where}: element(s) {', '.join(unknown)} not supported: molecules may hold "
            f"{', '.join(ALLOWED_VALENCE)} only (EDM's bond tables)"
        )
    return record


def load_molecule_file(path: str | Path, skip_bad: bool = False) -> tuple[MoleculeSet, list[str]]:
    """A MoleculeSet of a user's SDF/XYZ file (alphabet = its sorted elements, H first) and the
    skipped records."""
    from rdkit import Chem

    from polydit.molecule.chem import quiet_rdkit

    molecules, bad = read_molecules(path, skip_bad)
    elements = sorted({s for sym, _ in molecules for s in sym}, key=_element_order)
    where = [f"{path} record {i}" for i in range(len(molecules))]
    types, coords, num = pad_molecules(molecules, tuple(elements), where)
    smiles = []
    with quiet_rdkit():  # a record that does not sanitise gets "", not a log line
        for sym, xyz in molecules:
            mol = _bonded_or_none(sym, xyz)
            smiles.append("" if mol is None else Chem.MolToSmiles(mol))
    data = MoleculeSet(Path(path).stem, tuple(elements), types, coords, num, smiles)
    return data, bad


def _element_order(symbol: str) -> tuple[int, str]:
    from rdkit.Chem import GetPeriodicTable

    return GetPeriodicTable().GetAtomicNumber(symbol), symbol


def _bonded_or_none(symbols: list[str], coords: np.ndarray):
    from polydit.molecule.chem import build_molecule, largest_fragment_smiles

    mol = build_molecule(symbols, coords)
    return None if largest_fragment_smiles(mol) is None else mol


def load_dataset(
    name: str | None, split: str = "train", skip_bad: bool = False, seed: int = 0
) -> tuple[MoleculeSet, list[str]]:
    """A built-in set ("qm9", "qm9-noh") or a user's SDF/XYZ file; (data, skipped records)."""
    name = name or "qm9"
    if name in BUILTINS:
        return load_qm9(split, hydrogens=name == "qm9", seed=seed), []
    if Path(name).suffix.lower() in (".sdf", ".mol", ".xyz") or Path(name).exists():
        return load_molecule_file(name, skip_bad)
    raise ConfigError(
        f"--data: expected one of {', '.join(BUILTINS)} or an .sdf/.xyz path, got {name!r}"
    )


def describe(
    data: MoleculeSet, skipped: list[str], num: int, seed: int, out: Path | None
) -> list[str]:
    """`data show`'s lines: sizes, atoms per element, skipped records and `num` random examples
    (seed); with `out`, the examples are also written to out/examples.sdf."""
    from polydit.molecule.io import to_rdkit, write_sdf

    counts = np.bincount(data.types[data.types >= 0], minlength=len(data.atom_types))
    lines = [
        f"{data.name}: {len(data)} molecules, {int(data.num_atoms.sum())} atoms, "
        f"{int(data.num_atoms.min())}–{data.max_atoms} atoms per molecule "
        f"(mean {data.num_atoms.mean():.1f})"
    ]
    lines += [f"  {e}: {c} atoms" for e, c in zip(data.atom_types, counts.tolist(), strict=True)]
    if skipped:
        lines.append(f"skipped {len(skipped)} malformed record(s), e.g. {skipped[0]}")
    picks = np.random.default_rng(seed).permutation(len(data))[:num]
    lines.append("examples: " + ", ".join(f"#{i} {data.smiles[i]}" for i in picks.tolist()))
    if out is not None:
        path = write_sdf(out / "examples.sdf", [to_rdkit(*data.molecule(i)) for i in picks])
        lines.append(f"wrote {len(picks)} examples to {path}")
    return lines
