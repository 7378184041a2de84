"""Crystal training sets: the built-in set (:mod:`polydit.molecule.crystals`) or users' CIF files,
capped at ``max_atoms`` atoms per cell (MP-20's cap is 20), as pre-encoded padded tokens.

``CrystalSet.batch(indices)`` gives ``{"x": (B, 1 + N, C), "mask": (B, 1 + N)}`` for the core
Trainer; the lattice standardisation (mean / std of the 6 lattice parameters) and the element
alphabet come from the set itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polydit.core.errors import ConfigError, DataError
from polydit.molecule.crystal_codec import CrystalCodec

CRYSTAL_BUILTIN = "crystals"
MAX_ATOMS = 20
FRAC_SHIFT, FRAC_SCALE = 0.5, 2.0  # fractional coordinates → [−1, 1)


@dataclass
class CrystalSet:
    """Structures (pymatgen) with their sources, the codec fitted to them and their tokens."""

    name: str
    structures: list
    sources: list[str]
    codec: CrystalCodec
    x: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return len(self.structures)

    @property
    def max_atoms(self) -> int:
        return int(self.mask.shape[1]) - 1

    def num_atoms(self) -> np.ndarray:
        return np.array([len(s) for s in self.structures])

    def size_histogram(self) -> list[int]:
        """counts[n] = number of structures with n atoms, n = 0 .. max_atoms."""
        return np.bincount(self.num_atoms(), minlength=self.max_atoms + 1).tolist()

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"x": self.x[indices], "mask": self.mask[indices]}


def fit_codec(structures: list, type_scale: float = 0.25) -> CrystalCodec:
    """A codec over the elements of `structures` (sorted by atomic number) with their lattice
    statistics."""
    from pymatgen.core import Element

    elements = sorted({str(sp) for s in structures for sp in s.species}, key=lambda e: Element(e).Z)
    params = np.stack([CrystalCodec.lattice_params(s) for s in structures])
    std = np.maximum(params.std(0), 1e-3)
    return CrystalCodec(
        tuple(elements),
        type_scale,
        FRAC_SHIFT,
        FRAC_SCALE,
        tuple(float(v) for v in params.mean(0)),
        tuple(float(v) for v in std),
    )


def crystal_set(
    name: str, structures: list, sources: list[str], codec: CrystalCodec | None = None
) -> CrystalSet:
    """Encode `structures` (with `codec`, or one fitted to them)."""
    if not structures:
        raise DataError(f"{name}: no crystal structures")
    codec = codec or fit_codec(structures)
    unknown = {str(sp) for s in structures for sp in s.species} - set(codec.elements)
    if unknown:
        raise DataError(f"{name}: elements {sorted(unknown)} are not in the model's alphabet")
    tokens = codec.encode(structures)
    return CrystalSet(name, list(structures), list(sources), codec, tokens.x, tokens.mask)


def load_crystals(
    source: str, *, max_atoms: int = MAX_ATOMS, seed: int = 0, skip_bad: bool = False
) -> tuple[CrystalSet, list[str]]:
    """The built-in set ("crystals") or a CIF file / directory of CIF files, keeping cells with
    at most `max_atoms` atoms; (set, messages about skipped records)."""
    if max_atoms < 1:
        raise ConfigError(f"max_atoms must be ≥ 1, got {max_atoms}")
    skipped: list[str] = []
    if source == CRYSTAL_BUILTIN:
        from polydit.molecule.crystals import builtin_crystals

        records = builtin_crystals(seed)
        structures, sources = [r.structure for r in records], [r.source for r in records]
    else:
        from polydit.molecule.crystal_io import read_cif

        path = Path(source)
        files = sorted(path.glob("*.cif")) if path.is_dir() else [path]
        if not files or not all(f.is_file() for f in files):
            raise DataError(f"{source}: not a CIF file or a directory of .cif files")
        structures, sources = [], []
        for f in files:
            good, bad = read_cif(f, skip_bad)
            structures += good
            sources += [f"{f.name}:{i}" for i in range(len(good))]
            skipped += bad
    keep = [i for i, s in enumerate(structures) if len(s) <= max_atoms]
    dropped = len(structures) - len(keep)
    if dropped:
        skipped.append(f"{dropped} structure(s) with more than {max_atoms} atoms left out")
    name = CRYSTAL_BUILTIN if source == CRYSTAL_BUILTIN else Path(source).name
    return crystal_set(name, [structures[i] for i in keep], [sources[i] for i in keep]), skipped
