"""Crystal training sets: the built-in set (:mod:`polydit.molecule.crystal.builtin`) or users'
CIF files, capped at ``max_atoms`` atoms per cell (MP-20's cap is 20).

``CrystalSet.batch(indices)`` gives the :class:`~polydit.molecule.crystal.codec.CrystalCodec`
batch (lattice parameters, fractional coordinates, element indices, padded to the set's largest
cell) for the core Trainer; the codec — element alphabet, lattice standardisation, atom-count
histogram — is fitted to the set itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polydit.core.errors import ConfigError, DataError
from polydit.molecule.crystal.codec import CrystalCodec

CRYSTAL_BUILTIN = "crystals"
MAX_ATOMS = 20
FRAC_SHIFT, FRAC_SCALE = 0.5, 2.0  # fractional coordinates → [−1, 1)


@dataclass
class CrystalSet:
    """Structures (pymatgen) with their sources, the codec fitted to them and their batch arrays
    (:meth:`CrystalCodec.batch` of all of them)."""

    name: str
    structures: list
    sources: list[str]
    codec: CrystalCodec
    arrays: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.structures)

    def num_atoms(self) -> np.ndarray:
        return np.array([len(s) for s in self.structures])

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[indices] for k, v in self.arrays.items()}


def is_crystal_data(data: str | None) -> bool:
    """`train --data` names the built-in crystal set, a CIF file or a directory of CIF files."""
    if data is None:
        return False
    path = Path(data)
    return (
        data == CRYSTAL_BUILTIN
        or path.suffix.lower() == ".cif"
        or (path.is_dir() and any(path.glob("*.cif")))
    )


def fit_codec(name: str, structures: list, type_scale: float = 0.25) -> CrystalCodec:
    """A codec over the elements of `structures` (sorted by atomic number) with their lattice
    statistics and atom-count histogram."""
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
        tuple(np.bincount([len(s) for s in structures]).tolist()),
        name,
    )


def crystal_set(name: str, structures: list, sources: list[str]) -> CrystalSet:
    """`structures` with a codec fitted to them."""
    if not structures:
        raise DataError(f"{name}: no crystal structures")
    codec = fit_codec(name, structures)
    return CrystalSet(name, list(structures), list(sources), codec, codec.batch(structures))


def load_crystals(
    source: str, *, max_atoms: int = MAX_ATOMS, seed: int = 0, skip_bad: bool = False
) -> tuple[CrystalSet, list[str]]:
    """The built-in set ("crystals") or a CIF file / directory of CIF files, keeping cells with
    at most `max_atoms` atoms; (set, messages about skipped records)."""
    if max_atoms < 1:
        raise ConfigError(f"max_atoms must be ≥ 1, got {max_atoms}")
    skipped: list[str] = []
    if source == CRYSTAL_BUILTIN:
        from polydit.molecule.crystal.builtin import builtin_crystals

        records = builtin_crystals(seed)
        structures, sources = [r.structure for r in records], [r.source for r in records]
    else:
        from polydit.molecule.crystal.io import read_cif

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


def describe(
    data: CrystalSet, skipped: list[str], num: int, seed: int, out: Path | None
) -> list[str]:
    """`data show`'s lines: sizes, skipped records and `num` random examples (seed); with `out`,
    the examples are also written there as CIF files."""
    from polydit.molecule.crystal.io import write_cif

    n = data.num_atoms()
    lines = [
        f"{data.name}: {len(data)} structures, {len(data.codec.elements)} elements, "
        f"{n.min()}–{n.max()} atoms per cell (mean {n.mean():.1f})"
    ]
    lines += [f"skipped: {message}" for message in skipped]
    picks = np.random.default_rng(seed).permutation(len(data))[:num].tolist()
    lines.append(
        "examples: "
        + ", ".join(
            f"#{i} {data.structures[i].composition.reduced_formula} ({data.sources[i]})"
            for i in picks
        )
    )
    if out is not None:
        for i in picks:
            write_cif(out / f"crystal_{i:04d}.cif", data.structures[i])
        lines.append(f"wrote {len(picks)} CIF files to {out}")
    return lines
