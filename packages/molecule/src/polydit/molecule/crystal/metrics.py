"""Crystal metrics as CDVAE / DiffCSP / ADiT define them.

- structural validity: the smallest interatomic distance under periodic boundaries
  (``Structure.distance_matrix``, diagonal excluded) is ≥ 0.5 Å and the cell volume ≥ 0.1 Å³;
- compositional validity: SMACT charge neutrality with the Pauling electronegativity test;
  single elements and all-metal alloys count as valid (``smact.screening.smact_validity``);
- valid = both; uniqueness = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10) groups among
  the valid structures / valid structures;
- novelty = groups whose representative matches no training structure / groups;
- density_wdist / num_elements_wdist (CDVAE's d_ρ and d_elem): 1-D Wasserstein distances between
  the valid generated structures and the reference structures in density (g/cm³) and in the
  number of distinct elements per cell (CDVAE compares with the test split; the built-in set has
  no split, so the reference is the training set);
- coordination_wdist (d_CN) / nearest_neighbour_wdist (d_NN): the same distance over every site's
  coordination number — neighbours, periodic images included, within (1 + 0.2) × the sum of the
  two elements' covalent radii (Cordero et al. 2008, pymatgen's table) — and over every site's
  nearest-neighbour distance (Å), pooled over the sites of the valid generated / reference cells;
- match_rate / match_rmse (DiffCSP's structure-prediction match, turned around for unconditional
  samples): per reference structure, the best RMS distance of StructureMatcher(stol=0.5,
  angle_tol=10, ltol=0.3).get_rms_dist(generated, reference) — normalised by (V/n)^⅓, as DiffCSP
  calls it — among the valid generated structures of the same reduced composition; match_rate =
  matched reference structures / reference structures, match_rmse = mean best RMS over the
  matched ones (absent when none matched), num_reference_with_candidate = reference structures
  with at least one same-composition candidate.
Denominators: validities over all generated structures (a structure whose decoded lattice could
not be built is passed as None and counts as invalid in both); uniqueness over valid; novelty
over unique groups; the four distances over the valid structures only (``num_valid`` of
``num_structures``; no distance without a valid structure); the match over all reference
structures. SMACT enumerates oxidation-state combinations, which explodes for compositions
with many distinct elements (possible for an under-trained model): a composition whose check
exceeds ``SMACT_SECONDS`` (main thread only) counts as compositionally invalid and is reported as
``num_smact_timeouts``.
"""

from __future__ import annotations

import signal
import threading
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from polydit.core.errors import ConfigError, DataError

MIN_DISTANCE = 0.5
MIN_VOLUME = 0.1
MATCHER = {"ltol": 0.3, "stol": 0.5, "angle_tol": 10}
EXTRA_RADII = {"Cf": 1.68}  # Pyykkö & Atsumi 2009, for elements past Cordero's Cm
BOND_TOLERANCE = 0.2  # a bond: d ≤ (1 + tol)(r_cov,i + r_cov,j), pymatgen CovalentBondNN default
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


def covalent_radius(element: str) -> float:
    """Covalent radius (Å) of `element`: Cordero et al. 2008 (pymatgen's table, H–Cm), else
    Pyykkö & Atsumi 2009's single-bond radius from ``EXTRA_RADII``."""
    from pymatgen.analysis.molecule_structure_comparator import CovalentRadius

    radius = CovalentRadius.radius.get(element, EXTRA_RADII.get(element))
    if radius is None:
        raise DataError(f"structure holds {element}: no covalent radius known for it")
    return float(radius)


def site_geometry(structure) -> tuple[np.ndarray, np.ndarray]:
    """(coordination numbers (n,) int, nearest-neighbour distances (n,) Å) of the n sites of
    `structure`, periodic images (a site's own included) counted; bonds as in the module
    docstring. The cutoff reaches the shortest LLL lattice vector, so every site has a
    neighbour."""
    n = len(structure)
    radii = np.array([covalent_radius(sp.symbol) for sp in structure.species])  # (n,)
    bond_reach = (1 + BOND_TOLERANCE) * 2 * radii.max()
    shortest = np.linalg.norm(structure.lattice.lll_matrix, axis=1).min()
    cutoff = max(bond_reach, shortest) + 1e-6
    centre, neighbour, _, dist = structure.get_neighbor_list(cutoff)  # (P,) each
    bonded = dist <= (1 + BOND_TOLERANCE) * (radii[centre] + radii[neighbour])
    coordination = np.bincount(centre[bonded], minlength=n)
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, centre, dist)
    return coordination, nearest


def _pooled_geometry(structures: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(coordination numbers, nearest-neighbour distances) of all sites of `structures`, (S,)."""
    pairs = [site_geometry(s) for s in structures]
    return np.concatenate([c for c, _ in pairs]), np.concatenate([d for _, d in pairs])


def match_reference(generated: Sequence, reference: Sequence) -> dict[str, float]:
    """match_rate, match_rmse and num_reference_with_candidate of the module docstring: which
    `reference` structures have a StructureMatcher match among `generated` of the same reduced
    composition."""
    if not reference:
        raise ConfigError("match_reference: reference holds no structure, expected at least one")
    candidates: dict[str, list] = defaultdict(list)
    for s in generated:
        candidates[s.composition.reduced_formula].append(s)
    matcher = _matcher()
    with_candidate, best = 0, []
    for ref in reference:
        same = candidates.get(ref.composition.reduced_formula, [])
        with_candidate += bool(same)
        fits = [matcher.get_rms_dist(s, ref) for s in same]
        rms = [fit[0] for fit in fits if fit is not None]
        if rms:
            best.append(min(rms))
    out = {
        "num_reference_with_candidate": with_candidate,
        "num_matched": len(best),
        "match_rate": len(best) / len(reference),
    }
    if best:
        out["match_rmse"] = float(np.mean(best))
    return out


def distribution_distances(structures: Sequence, reference: Sequence) -> dict[str, float]:
    """d_ρ, d_elem, d_CN and d_NN (module docstring) between `structures` and `reference`."""
    from scipy.stats import wasserstein_distance

    cn, nn = _pooled_geometry(structures)
    ref_cn, ref_nn = _pooled_geometry(reference)
    return {
        "density_wdist": float(
            wasserstein_distance([s.density for s in structures], [t.density for t in reference])
        ),
        "num_elements_wdist": float(
            wasserstein_distance(
                [len(s.composition) for s in structures], [len(t.composition) for t in reference]
            )
        ),
        "coordination_wdist": float(wasserstein_distance(cn, ref_cn)),
        "nearest_neighbour_wdist": float(wasserstein_distance(nn, ref_nn)),
    }


def crystal_metrics(structures: Sequence, training: Sequence | None = None) -> dict[str, float]:
    """Every rate of the module docstring, plus the counts behind it; novelty, the distances and
    the match against `training` (the reference) when given."""
    n = len(structures)
    if n == 0:
        raise ConfigError("crystal_metrics: structures is empty, expected at least one structure")
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
            out |= distribution_distances(valid, training)
        out |= match_reference(valid, training)
    return out
