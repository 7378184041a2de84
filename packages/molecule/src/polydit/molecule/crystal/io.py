"""CIF files ↔ pymatgen Structures (atomic writes; malformed files name file and block), and the
records `sample` writes for generated crystals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import DataError

MIN_LENGTH = 0.01  # Å: a shorter cell edge is no cell (and underflows pymatgen's angles)
#: (V / abc)² at or below which a cell's angles are taken to span no volume
VOLUME_TOLERANCE = 1e-6


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
    cannot turn into a structure, whose cell is not a real cell (:func:`check_cell`) or whose
    sites are disordered or hold no element (:func:`check_sites`) is a DataError naming the
    file and block index unless `skip_bad`. Oxidation states are dropped."""
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
            good.append(_block_structure(block, f"{path}: CIF block {i}"))
        except DataError as error:
            if not skip_bad:
                raise
            bad.append(str(error))
    return good, bad


def _block_structure(block: str, where: str):
    """The structure of one CIF data block, checked; a DataError starting with `where`."""
    import warnings

    from pymatgen.io.cif import CifFile, CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fields = next(iter(CifFile.from_str(block).data.values())).data
        except Exception as e:  # pymatgen raises ValueError/KeyError/IndexError on bad CIFs
            raise DataError(f"{where} is malformed ({type(e).__name__}: {e})") from None
        check_cell(fields, where)  # before pymatgen, which refuses some bad cells unclearly
        try:
            structures = CifParser.from_str(block).parse_structures(primitive=False)
            if not structures:
                raise ValueError("no structure")
        except Exception as e:
            raise DataError(f"{where} is malformed ({type(e).__name__}: {e})") from None
    check_sites(structures[0], where)
    structures[0].remove_oxidation_states()  # the codec has elements, not ions
    return structures[0]


def _cell_number(fields: dict, name: str, where: str) -> float:
    from pymatgen.io.cif import str2float

    value = fields[name]
    try:
        if not isinstance(value, str):
            raise ValueError
        return float(str2float(value))
    except ValueError:
        raise DataError(f"{where}: {name} is {value!r}, expected one number") from None


def check_cell(fields: dict, where: str) -> None:
    """A DataError starting with `where` unless the cell fields of a CIF block (`fields`: tag →
    value as written; a block without them is left to pymatgen) form a real cell: lengths
    finite and ≥ MIN_LENGTH Å, angles finite and strictly between 0° and 180°, and angles that
    span a volume ((V / abc)² = 1 − cos²α − cos²β − cos²γ + 2 cos α cos β cos γ above
    VOLUME_TOLERANCE)."""
    lengths = [f"_cell_length_{axis}" for axis in "abc"]
    angles = [f"_cell_angle_{angle}" for angle in ("alpha", "beta", "gamma")]
    values = {
        name: _cell_number(fields, name, where) for name in lengths + angles if name in fields
    }
    for name, value in values.items():
        if name in lengths and not (np.isfinite(value) and value >= MIN_LENGTH):
            expected = f"a finite length ≥ {MIN_LENGTH} Å"
        elif name in angles and not (np.isfinite(value) and 0 < value < 180):
            expected = "a finite angle strictly between 0° and 180°"
        else:
            continue
        raise DataError(f"{where}: {name} is {fields[name]}, expected {expected}")
    if all(name in values for name in angles):
        cos = np.cos(np.radians([values[name] for name in angles]))
        if 1 - (cos**2).sum() + 2 * cos.prod() <= VOLUME_TOLERANCE:
            written = ", ".join(str(fields[name]) for name in angles)
            raise DataError(f"{where}: {', '.join(angles)} are {written}: they span no volume")


def check_sites(structure, where: str) -> None:
    """A DataError starting with `where` if a site of `structure` holds a partial occupancy or
    several species (a disordered structure: the crystal codec has one element per site), or a
    species that is no element (pymatgen's dummy species, e.g. ``X0+``)."""
    from pymatgen.core import Element

    for i, site in enumerate(structure):
        if not site.is_ordered:
            raise DataError(
                f"{where}: disordered structure: partial occupancy ({site.species} at site "
                f"{i}) is not supported (every site must hold one element with occupancy 1)"
            )
        if not Element.is_valid_symbol(site.specie.symbol):
            raise DataError(f"{where}: site {i} holds {site.specie}, which is not an element")
