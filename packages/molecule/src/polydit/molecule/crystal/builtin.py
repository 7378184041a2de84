"""The built-in crystal set: pymatgen's 288 AFLOW prototypes plus procedural ionic structures.

Procedural structures are binary and ternary ionic prototypes — rocksalt, CsCl, zincblende,
wurtzite (AB), fluorite and rutile (AB2), cubic perovskite (ABX3) — over fixed cation/anion
pools, kept only when SMACT finds the composition charge-neutral (with the Pauling
electronegativity test). Lattice constants follow from Shannon ionic radii (pymatgen) with a
random strain of ±3% per sample; every structure is a primitive cell, Niggli-reduced. Same seed → same set.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATIONS = {
    1: ("Li", "Na", "K", "Rb", "Cs", "Ag"),
    2: ("Mg", "Ca", "Sr", "Ba", "Zn", "Cd", "Ni", "Mn"),
    3: ("Al", "Ga", "In", "Sc", "Y", "La"),
    4: ("Ti", "Zr", "Hf", "Sn", "Ge"),
}
ANIONS = {-1: ("F", "Cl", "Br", "I"), -2: ("O", "S", "Se", "Te"), -3: ("N", "P", "As")}
PROTOTYPES = ("rocksalt", "cscl", "zincblende", "wurtzite", "fluorite", "rutile", "perovskite")
STRAIN = 0.03


@dataclass(frozen=True)
class CrystalRecord:
    """One structure of the set and where it came from (prototype name or AFLOW label)."""

    structure: object  # pymatgen Structure
    source: str


def aflow_prototypes() -> list[CrystalRecord]:
    """pymatgen's bundled AFLOW prototype structures (288), Niggli-reduced."""
    import pymatgen
    from pymatgen.core import Structure

    path = Path(pymatgen.__path__[0]) / "analysis" / "prototypes" / "aflow_prototypes.json.gz"
    with gzip.open(path, "rt") as f:
        entries = json.load(f)
    out = []
    for entry in entries:
        structure = Structure.from_dict(entry["snl"]).get_reduced_structure("niggli")
        label = entry.get("tags", {}).get("aflow", "") or structure.composition.reduced_formula
        out.append(CrystalRecord(structure, f"aflow:{label}"))
    return out


def _radius(element: str, charge: int) -> float:
    """Shannon ionic radius in Å (0 when pymatgen has none for this ion)."""
    import warnings

    from pymatgen.core import Species

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(Species(element, charge).ionic_radius or 0.0)


def _fcc(a: float):
    from pymatgen.core import Lattice

    return Lattice([[0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]])


def _build(prototype: str, ions: tuple[tuple[str, int], ...], scale: float):
    """The primitive cell of `prototype` for `ions` [(element, charge), ...], with lattice
    constants from the sum of ionic radii times `scale`."""
    from pymatgen.core import Lattice, Structure

    r = [_radius(e, q) for e, q in ions]
    el = [e for e, _ in ions]
    d = (r[0] + r[1]) * scale  # cation–anion contact distance
    if prototype == "rocksalt":
        return Structure(_fcc(2 * d), el, [[0, 0, 0], [0.5, 0.5, 0.5]])
    if prototype == "cscl":
        return Structure(Lattice.cubic(2 * d / math.sqrt(3)), el, [[0, 0, 0], [0.5, 0.5, 0.5]])
    if prototype == "zincblende":
        return Structure(_fcc(4 * d / math.sqrt(3)), el, [[0, 0, 0], [0.25, 0.25, 0.25]])
    if prototype == "fluorite":
        coords = [[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]]
        return Structure(_fcc(4 * d / math.sqrt(3)), [el[0], el[1], el[1]], coords)
    if prototype == "wurtzite":
        a, u = d / (0.375 * math.sqrt(8 / 3)), 0.375
        lattice = Lattice.hexagonal(a, a * math.sqrt(8 / 3))
        coords = [
            [1 / 3, 2 / 3, 0],
            [2 / 3, 1 / 3, 0.5],
            [1 / 3, 2 / 3, u],
            [2 / 3, 1 / 3, 0.5 + u],
        ]
        return Structure(lattice, [el[0], el[0], el[1], el[1]], coords)
    if prototype == "rutile":
        x = 0.305
        coords = [[0, 0, 0], [0.5, 0.5, 0.5], [x, x, 0], [1 - x, 1 - x, 0],
                  [0.5 + x, 0.5 - x, 0.5], [0.5 - x, 0.5 + x, 0.5]]  # fmt: skip
        lattice = Lattice.tetragonal(2.35 * d, 1.51 * d)
        return Structure(lattice, [el[0]] * 2 + [el[1]] * 4, coords)
    if prototype == "perovskite":
        a = 2 * (r[1] + r[2]) * scale
        coords = [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]
        return Structure(Lattice.cubic(a), [el[0], el[1], el[2], el[2], el[2]], coords)
    raise ValueError(f"unknown prototype {prototype!r}")


def _compositions(prototype: str) -> list[tuple[tuple[str, int], ...]]:
    """Candidate (element, charge) tuples of a prototype, formally charge-balanced."""
    out: list[tuple[tuple[str, int], ...]] = []
    if prototype in ("rocksalt", "cscl", "zincblende", "wurtzite"):
        for q in (1, 2, 3):
            out += [((c, q), (a, -q)) for c in CATIONS[q] for a in ANIONS[-q]]
    elif prototype in ("fluorite", "rutile"):
        for qc, qa in ((2, -1), (4, -2)):
            out += [((c, qc), (a, qa)) for c in CATIONS[qc] for a in ANIONS[qa]]
    else:  # perovskite A B X3
        for qa, qb, qx in ((1, 2, -1), (2, 4, -2), (3, 3, -2)):
            out += [
                ((a, qa), (b, qb), (x, qx))
                for a, b, x in itertools.product(CATIONS[qa], CATIONS[qb], ANIONS[qx])
                if a != b
            ]
    return out


def procedural_crystals(
    seed: int = 0, per_composition: int = 2, prototypes: Sequence[str] = PROTOTYPES
) -> list[CrystalRecord]:
    """SMACT-neutral ionic prototypes, `per_composition` strained copies each (deterministic;
    each prototype draws its strains from its own seed)."""
    from smact.screening import smact_validity

    out = []
    for prototype in prototypes:
        rng = np.random.default_rng([seed, PROTOTYPES.index(prototype)])
        for ions in _compositions(prototype):
            try:
                radii_ok = all(_radius(e, q) > 0 for e, q in ions)
            except (ValueError, TypeError, KeyError):
                radii_ok = False
            scales = rng.uniform(1 - STRAIN, 1 + STRAIN, per_composition)
            if not radii_ok:
                continue
            structure = _build(prototype, ions, 1.0)
            if not smact_validity(structure.composition):
                continue
            for scale in scales:
                built = _build(prototype, ions, float(scale)).get_reduced_structure("niggli")
                out.append(CrystalRecord(built, f"{prototype}:{built.composition.reduced_formula}"))
    return out


def builtin_crystals(seed: int = 0) -> list[CrystalRecord]:
    """AFLOW prototypes followed by the procedural structures."""
    return aflow_prototypes() + procedural_crystals(seed)
