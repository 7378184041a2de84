"""CIF files ↔ pymatgen Structures (atomic writes; malformed files name file and block), and the
records `sample` writes for generated crystals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError


def write_cif(path: str | Path, structure) -> Path:
    """One structure as a CIF file, atomically."""
    from pymatgen.io.cif import CifWriter

    atomic_write_text(path, str(CifWriter(structure)))
    return Path(path)


def write_cifs(directory: str | Path, structures: Sequence, prefix: str = "crystal") -> list[Path]:
    """One CIF per structure: DIR/<prefix>_0000.cif, ..."""
    return [
        write_cif(Path(directory) / f"{prefix}_{i:04d}.cif", s) for i, s in enumerate(structures)
    ]


def write_records(
    directory: str | Path,
    structures: Sequence,
    num_atoms: Sequence[int],
    seed: int,
    first: int = 0,
) -> list[dict[str, Any]]:
    """One CIF per buildable structure (DIR/crystal_0000.cif, ..., numbered from `first`) and one
    record per sample: its file (None for an unbuildable lattice), seed, atom count, formula and
    validity flags."""
    from polydit.molecule.crystal.metrics import composition_valid, structure_valid

    records = []
    for i, (s, n) in enumerate(zip(structures, num_atoms, strict=True)):
        name = f"crystal_{first + i:04d}.cif"
        if s is not None:
            write_cif(Path(directory) / name, s)
        records.append(
            {
                "file": name if s is not None else None,
                "seed": seed + i,
                "num_atoms": int(n),
                "formula": None if s is None else s.composition.reduced_formula,
                "structure_valid": s is not None and structure_valid(s),
                "composition_valid": s is not None and composition_valid(s),
                "conditioning": {},
            }
        )
    return records


def read_cif(path: str | Path, skip_bad: bool = False) -> tuple[list, list[str]]:
    """Structures of every data block of a CIF file, and the skipped blocks. A block pymatgen
    cannot turn into a structure is a DataError naming the file and block index unless
    `skip_bad`."""
    import warnings

    from pymatgen.io.cif import CifParser

    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from None
    blocks = ["data_" + b for b in text.split("data_")[1:]]
    if not blocks:
        raise DataError(f"{path}: no CIF data block (expected a line starting with 'data_')")
    good, bad = [], []
    for i, block in enumerate(blocks):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                structures = CifParser.from_str(block).parse_structures(primitive=False)
            if not structures:
                raise ValueError("no structure")
            good.append(structures[0])
        except Exception as e:  # pymatgen raises ValueError/KeyError/IndexError on bad CIFs
            error = DataError(f"{path}: CIF block {i} is malformed ({type(e).__name__}: {e})")
            if not skip_bad:
                raise error from None
            bad.append(str(error))
    return good, bad
