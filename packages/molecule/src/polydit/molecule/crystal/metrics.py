"""Crystal metrics as CDVAE / DiffCSP / ADiT define them.

- structural validity: the smallest interatomic distance under periodic boundaries
  (``Structure.distance_matrix``, diagonal excluded) is ≥ 0.5 Å and the cell volume ≥ 0.1 Å³;
- compositional validity: SMACT charge neutrality with the Pauling electronegativity test;
  single elements and all-metal alloys count as valid (``smact.screening.smact_validity``);
- valid = both; uniqueness = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10) groups among
  the valid structures / valid structures;
- novelty = groups whose representative matches no training structure / groups;
- density_wdist / num_elements_wdist (CDVAE's d_ρ and d_elem): 1-D Wasserstein distances between
  the valid generated structures and the training structures in density (g/cm³) and in the
  number of distinct elements per cell (CDVAE compares with the test split; we have no split).
Denominators: validities over all generated structures (a structure whose decoded lattice could
not be built is passed as None and counts as invalid in both); uniqueness over valid; novelty
over unique groups. SMACT enumerates oxidation-state combinations, which explodes for compositions
with many distinct elements (possible for an under-trained model): a composition whose check
exceeds ``SMACT_SECONDS`` (main thread only) counts as compositionally invalid and is reported as
``num_smact_timeouts``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence

import numpy as np

MIN_DISTANCE = 0.5
MIN_VOLUME = 0.1
MATCHER = {"ltol": 0.3, "stol": 0.5, "angle_tol": 10}
SMACT_SECONDS = 10


class _Timeout(Exception):
    pass


def structure_valid(structure) -> bool:
    """Min periodic pairwise distance ≥ 0.5 Å and volume ≥ 0.1 Å³ (one atom: volume only)."""
    if not structure.volume >= MIN_VOLUME:
        return False
    if len(structure) < 2:
        return True
    d = np.array(structure.distance_matrix, dtype=np.float64)
    d[np.diag_indices_from(d)] = np.inf
    return bool(d.min() >= MIN_DISTANCE)


def composition_valid(structure) -> bool:
    """SMACT neutrality + Pauling test; elements and alloys valid (CDVAE's smact_validity)."""
    from smact.screening import smact_validity

    return bool(smact_validity(structure.composition))


def composition_valid_within(structure, seconds: int = SMACT_SECONDS) -> bool | None:
    """:func:`composition_valid`, or None when it runs longer than `seconds` (main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return composition_valid(structure)

    def expire(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return composition_valid(structure)
    except _Timeout:
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _matcher():
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher(**MATCHER)


def crystal_metrics(structures: Sequence, training: Sequence | None = None) -> dict[str, float]:
    """Every rate of the module docstring, plus the counts behind it."""
    n = len(structures)
    if n == 0:
        raise ValueError("crystal_metrics needs at least one structure")
    struct = [s is not None and structure_valid(s) for s in structures]
    checked = [None if s is None else composition_valid_within(s) for s in structures]
    timeouts = sum(s is not None and c is None for s, c in zip(structures, checked, strict=True))
    comp = [bool(c) for c in checked]
    valid = [s for s, a, b in zip(structures, struct, comp, strict=True) if a and b]
    groups = _matcher().group_structures(valid) if valid else []
    out: dict[str, float] = {
        "num_structures": n,
        "num_unbuildable": sum(s is None for s in structures),
        "num_smact_timeouts": timeouts,
        "structural_validity": sum(struct) / n,
        "compositional_validity": sum(comp) / n,
        "num_valid": len(valid),
        "validity": len(valid) / n,
        "num_unique": len(groups),
        "uniqueness": len(groups) / len(valid) if valid else 0.0,
    }
    if training is not None:
        matcher = _matcher()
        novel = 0
        for group in groups:
            rep = group[0]
            formula = rep.composition.reduced_composition
            same = [t for t in training if t.composition.reduced_composition == formula]
            novel += not any(matcher.fit(rep, t) for t in same)
        out["num_novel"] = novel
        out["novelty"] = novel / len(groups) if groups else 0.0
        if valid:
            from scipy.stats import wasserstein_distance

            out["density_wdist"] = float(
                wasserstein_distance([s.density for s in valid], [t.density for t in training])
            )
            out["num_elements_wdist"] = float(
                wasserstein_distance(
                    [len(s.composition) for s in valid], [len(t.composition) for t in training]
                )
            )
    return out
