"""Crystal metrics that separate a model from chance: coordination / nearest-neighbour distances
and DiffCSP-style structure matching against reference structures."""

import json

import numpy as np
import pytest

from polydit.bench.molecule.bench import random_crystals, split_crystals
from polydit.molecule.crystal.builtin import aflow_prototypes, procedural_crystals
from polydit.molecule.crystal.data import load_crystals
from polydit.molecule.crystal.metrics import (
    composition_valid,
    crystal_metrics,
    distribution_distances,
    match_reference,
    site_geometry,
    structure_valid,
)

DISTANCES = ("density_wdist", "num_elements_wdist", "coordination_wdist", "nearest_neighbour_wdist")


@pytest.fixture(scope="module")
def valid_crystals():
    """Rock salts and AFLOW prototypes of up to 8 atoms that are valid (struct. and comp.)."""
    rocksalts = [r.structure for r in procedural_crystals(0, 1, prototypes=("rocksalt",))][:5]
    prototypes = [r.structure for r in aflow_prototypes() if 1 < len(r.structure) <= 8][:40]
    picked = [s for s in rocksalts + prototypes if structure_valid(s) and composition_valid(s)]
    assert len(picked) >= 12
    return picked[:12]


def test_site_geometry_counts_rocksalt_diamond_and_periodic_self_images():
    from pymatgen.core import Lattice, Structure

    nacl = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0] * 3, [0.5] * 3]
    )
    cn, nn = site_geometry(nacl)  # Na–Cl 2.82 Å ≤ 1.2 · 2.68 Å bonded; Na–Na 3.99 > 3.98 Å not
    assert cn.tolist() == [6] * 8 and np.allclose(nn, 5.64 / 2)
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    diamond = fcc + [[x + 0.25 for x in site] for site in fcc]
    silicon = Structure(Lattice.cubic(5.43), ["Si"] * 8, diamond)
    cn, nn = site_geometry(silicon)
    assert cn.tolist() == [4] * 8 and np.allclose(nn, 5.43 * np.sqrt(3) / 4)
    copper = Structure(Lattice.cubic(3.61), ["Cu"] * 4, fcc).get_primitive_structure()
    assert len(copper) == 1  # its 12 neighbours are all its own periodic images
    cn, nn = site_geometry(copper)
    assert cn.tolist() == [12] and np.allclose(nn, 3.61 / np.sqrt(2))
    far = Structure(Lattice.cubic(12.0), ["Na", "Cl"], [[0] * 3, [0.5] * 3])
    cn, nn = site_geometry(far)
    assert cn.tolist() == [0, 0] and np.allclose(nn, 12 * np.sqrt(3) / 2)


def test_every_distance_is_zero_for_a_set_against_itself_and_grows_when_squeezed(
    valid_crystals,
):
    same = crystal_metrics(valid_crystals, training=valid_crystals)
    assert same["num_valid"] == len(valid_crystals)
    assert all(same[key] == pytest.approx(0.0, abs=1e-9) for key in DISTANCES)
    assert same["match_rate"] == 1.0 and same["match_rmse"] == pytest.approx(0.0, abs=1e-6)
    assert same["num_reference_with_candidate"] == len(valid_crystals)
    squeezed = [s.copy() for s in valid_crystals]
    for s in squeezed:
        s.scale_lattice(s.volume * 0.7)
    moved = distribution_distances(squeezed, valid_crystals)
    assert moved["nearest_neighbour_wdist"] > 0.2  # every distance shrinks by 0.7^(1/3)
    assert moved["coordination_wdist"] > 0.2  # second shells come within bonding reach
    assert moved["num_elements_wdist"] == 0.0


def test_structure_matcher_matches_a_rotated_translated_copy_and_not_another_structure():
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.operations import SymmOp

    spinel = next(r.structure for r in aflow_prototypes() if len(r.structure) == 14)
    copy = spinel.copy()
    copy.apply_operation(SymmOp.from_axis_angle_and_translation((1, 2, 3), 37.0))
    copy.translate_sites(list(range(len(copy))), [0.13, 0.71, 0.29], frac_coords=True)
    copy = Structure.from_sites(list(reversed(copy.sites)))  # another site order
    assert not np.allclose(copy.lattice.matrix, spinel.lattice.matrix)
    found = match_reference([copy], [spinel])
    assert found["match_rate"] == 1.0 and found["match_rmse"] < 1e-4
    assert found["num_reference_with_candidate"] == 1

    sites = [[0] * 3, [0.5] * 3]
    rocksalt = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], sites)
    rocksalt = rocksalt.get_primitive_structure()
    cscl_type = Structure(Lattice.cubic(3.3), ["Na", "Cl"], [[0] * 3, [0.5] * 3])
    missed = match_reference([cscl_type, spinel], [rocksalt])
    assert missed["num_reference_with_candidate"] == 1  # same formula NaCl, another structure
    assert missed["match_rate"] == 0.0 and "match_rmse" not in missed


def test_random_floor_has_short_contacts_real_crystals_lack():
    """d_NN of the random floor (structurally valid ones; composition is not checked, SMACT is
    slow) against the built-in set is larger than that of real held-out cells against the rest."""
    data = load_crystals("crystals")[0]
    held_out, rest = split_crystals(data.structures, 200, 0)
    floor = [s for s in random_crystals(data.structures, 200, 0) if structure_valid(s)]
    assert len(floor) > 150
    real = distribution_distances(held_out, rest)["nearest_neighbour_wdist"]
    chance = distribution_distances(floor, data.structures)["nearest_neighbour_wdist"]
    assert chance > 3 * real


def test_eval_of_the_shipped_crystal_model_reports_the_new_metrics(run_cli):
    out = run_cli("eval", "--kind", "crystal", "--num", "6", "--json")
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["num_valid"] > 0  # the shipped model: about 80 % valid
    assert all(np.isfinite(metrics[key]) and metrics[key] >= 0 for key in DISTANCES)
    assert metrics["num_matched"] <= metrics["num_reference_with_candidate"]
    assert 0 <= metrics["match_rate"] <= 1
