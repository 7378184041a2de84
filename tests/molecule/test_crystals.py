"""Crystals: built-in data, codec round trip, CDVAE-style metrics, CIF I/O."""

from pathlib import Path

import numpy as np
import pytest
import torch

from polydit.core.errors import DataError
from polydit.molecule.crystal.builtin import aflow_prototypes, procedural_crystals
from polydit.molecule.crystal.codec import CrystalCodec
from polydit.molecule.crystal.io import read_cif, write_cif, write_cifs
from polydit.molecule.crystal.metrics import composition_valid, crystal_metrics, structure_valid


@pytest.fixture(scope="module")
def rocksalts():
    return [r.structure for r in procedural_crystals(0, 1, prototypes=("rocksalt",))]


def test_aflow_prototypes_are_all_loaded():
    records = aflow_prototypes()
    assert len(records) == 288
    assert all(r.source.startswith("aflow:") for r in records)


def test_procedural_rocksalts_are_neutral_valid_and_sized_by_ionic_radii(rocksalts):
    assert len(rocksalts) > 30
    assert all(structure_valid(s) and composition_valid(s) for s in rocksalts)
    nacl = next(s for s in rocksalts if s.composition.reduced_formula == "NaCl")
    conventional_a = nacl.lattice.a * np.sqrt(2)  # primitive fcc cell: a_conv / sqrt(2)
    assert conventional_a == pytest.approx(5.66, rel=0.035)  # 2·(r Na+ + r Cl−), ±3% strain
    again = [r.structure for r in procedural_crystals(0, 1, prototypes=("rocksalt",))]
    assert all(
        np.allclose(a.lattice.matrix, b.lattice.matrix)
        for a, b in zip(rocksalts, again, strict=True)
    )


def test_crystal_codec_round_trip(rocksalts):
    structures = rocksalts[:4] + [r.structure for r in aflow_prototypes()[:4]]
    elements = tuple(sorted({str(sp) for s in structures for sp in s.species}))
    codec = CrystalCodec(elements)
    tokens = codec.encode(codec.batch(structures))
    assert tokens.x.shape[-1] == 3 + len(elements) + 6
    assert torch.equal(tokens.mask.sum(1), torch.tensor([1 + len(s) for s in structures]))
    back = codec.decode(tokens.x, tokens)
    for a, b in zip(structures, back, strict=True):
        assert [str(x) for x in a.species] == [str(x) for x in b.species]
        wrapped = (a.frac_coords - b.frac_coords + 0.5) % 1.0 - 0.5  # periodic difference
        assert np.abs(wrapped).max() < 1e-6
        assert np.allclose(a.lattice.abc, b.lattice.abc, rtol=1e-5)
        assert np.allclose(a.lattice.angles, b.lattice.angles, atol=1e-3)


def test_metrics_flag_overlaps_bad_charges_duplicates_and_novelty(rocksalts):
    from pymatgen.core import Lattice, Structure

    nacl = next(s for s in rocksalts if s.composition.reduced_formula == "NaCl")
    overlap = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]])
    charged = Structure(
        Lattice.cubic(5.0), ["Na", "Cl", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5], [0, 0.5, 0.5]]
    )
    assert not structure_valid(overlap) and composition_valid(overlap)
    assert structure_valid(charged) and not composition_valid(charged)
    kcl = next(s for s in rocksalts if s.composition.reduced_formula == "KCl")
    m = crystal_metrics([nacl, nacl.copy(), overlap, charged, kcl], training=[nacl])
    assert m["structural_validity"] == pytest.approx(4 / 5)
    assert m["compositional_validity"] == pytest.approx(4 / 5)
    assert m["validity"] == pytest.approx(3 / 5)
    assert m["uniqueness"] == pytest.approx(2 / 3)
    assert m["novelty"] == pytest.approx(1 / 2)  # KCl is new, NaCl is in training


def test_cif_round_trip_and_malformed_block(rocksalts, tmp_path: Path):
    from pymatgen.analysis.structure_matcher import StructureMatcher

    paths = write_cifs(tmp_path, rocksalts[:2])
    assert [p.name for p in paths] == ["crystal_0000.cif", "crystal_0001.cif"]
    back, bad = read_cif(paths[0])
    assert bad == [] and StructureMatcher().fit(back[0], rocksalts[0])
    good = write_cif(tmp_path / "g.cif", rocksalts[0]).read_text()
    broken = tmp_path / "two.cif"
    broken.write_text(good + "\ndata_broken\n_cell_length_a 4.0\n_atom_site_fract_x 0.1\n")
    with pytest.raises(DataError, match=r"two\.cif: CIF block 1 is malformed"):
        read_cif(broken)
    structures, skipped = read_cif(broken, skip_bad=True)
    assert len(structures) == 1 and len(skipped) == 1
    (tmp_path / "empty.cif").write_text("nothing here\n")
    with pytest.raises(DataError, match="no CIF data block"):
        read_cif(tmp_path / "empty.cif")


NACL_CELL = "_cell_length_a 5.64\n_cell_length_b 5.64\n_cell_length_c 5.64\n"
NACL_ANGLES = "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
NACL_SITES = (
    "loop_\n_atom_site_type_symbol\n_atom_site_label\n_atom_site_fract_x\n"
    "_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
    "Na Na0 0 0 0 1\nCl Cl1 0.5 0.5 0.5 1\n"
)


def _nacl_cif(old: str = "", new: str = "") -> str:
    """A P1 rock-salt CIF block (Na at 0, Cl at ½ ½ ½), with `old` replaced by `new`."""
    text = "data_NaCl\n_symmetry_space_group_name_H-M 'P 1'\n" + NACL_CELL + NACL_ANGLES
    text += NACL_SITES
    assert old in text
    return text.replace(old, new, 1)


ANGLES_10_10_170 = NACL_ANGLES.replace("90", "10", 2).replace("90", "170")
BAD_CELLS = {  # id: (text of the rock-salt block, its replacement, the error after the block)
    "nan-length": ("_cell_length_a 5.64", "_cell_length_a nan", "_cell_length_a is nan, expected"),
    "negative-length": ("_cell_length_b 5.64", "_cell_length_b -5.64", "_cell_length_b is -5.64"),
    "zero-length": ("_cell_length_c 5.64", "_cell_length_c 0", "_cell_length_c is 0, expected"),
    "tiny-length": ("_cell_length_a 5.64", "_cell_length_a 1e-320", "_cell_length_a is 1e-320"),
    "inf-length": ("_cell_length_c 5.64", "_cell_length_c 1e309", "_cell_length_c is 1e309"),
    "text-length": ("_cell_length_a 5.64", "_cell_length_a x", "_cell_length_a is 'x', expected"),
    "zero-angle": ("_cell_angle_alpha 90", "_cell_angle_alpha 0", "_cell_angle_alpha is 0, "),
    "flat-angle": ("_cell_angle_beta 90", "_cell_angle_beta 180", "_cell_angle_beta is 180, "),
    "nan-angle": ("_cell_angle_gamma 90", "_cell_angle_gamma nan", "_cell_angle_gamma is nan"),
    "no-volume": (
        NACL_ANGLES,
        ANGLES_10_10_170,
        "_cell_angle_alpha, _cell_angle_beta, _cell_angle_gamma are 10, 10, 170: they span no",
    ),
    "partial-occupancy": (
        "Cl Cl1 0.5 0.5 0.5 1",
        "Cl Cl1 0.5 0.5 0.5 0.5",
        r"disordered structure: partial occupancy \(Cl0\.5 at site 1\) is not supported",
    ),
    "dummy-species": ("Na Na0", "XNa Na0", r"site 0 holds X0\+, which is not an element"),
}


@pytest.mark.parametrize(("old", "new", "error"), BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_a_cif_without_a_real_ordered_cell_is_refused_naming_file_and_field(
    old: str, new: str, error: str, tmp_path: Path
):
    from polydit.molecule.crystal.data import load_crystals

    path = tmp_path / "bad.cif"
    path.write_text(_nacl_cif().replace("NaCl", "good") + _nacl_cif(old, new))
    with pytest.raises(DataError, match=rf"bad\.cif: CIF block 1: {error}"):
        load_crystals(str(path))
    data, skipped = load_crystals(str(path), skip_bad=True)
    assert len(data) == 1 and len(skipped) == 1 and "CIF block 1" in skipped[0]
    assert all(np.isfinite(v.numpy()).all() for v in data.arrays.values())


def test_a_cif_cell_near_the_limits_and_ions_are_read(tmp_path: Path):
    """An oblique cell whose angles still span a volume, and sites given as ions (the codec
    has elements: oxidation states are dropped)."""
    from polydit.molecule.crystal.data import load_crystals

    oblique = NACL_ANGLES.replace("90", "60", 2).replace("90", "119")
    text = _nacl_cif(NACL_ANGLES, oblique).replace("Na Na0", "Na1+ Na0")
    path = tmp_path / "ok.cif"
    path.write_text(text.replace("Cl Cl1", "Cl1- Cl1"))
    data, skipped = load_crystals(str(path))
    assert skipped == [] and data.codec.elements == ("Na", "Cl")
    assert np.allclose(data.structures[0].lattice.angles, (60, 60, 119))


def test_distribution_distances_vanish_on_the_training_set_itself(rocksalts):

    same = crystal_metrics(rocksalts[:6], training=rocksalts[:6])
    assert same["density_wdist"] == 0.0 and same["num_elements_wdist"] == 0.0
    denser = [s.copy() for s in rocksalts[:6]]
    for s in denser:
        s.scale_lattice(s.volume * 0.8)
    assert crystal_metrics(denser, training=rocksalts[:6])["density_wdist"] > 0.1
