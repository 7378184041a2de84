"""SDF / XYZ writers and readers: round trips, flags, malformed input errors."""

from pathlib import Path

import numpy as np
import pytest

from polydit.core.errors import DataError
from polydit.molecule.bonds import bond_orders
from polydit.molecule.data import load_molecule_file, read_molecules
from polydit.molecule.io import (
    SMILES_PROP,
    VALID_PROP,
    from_rdkit,
    read_sdf,
    to_rdkit,
    write_sdf,
    write_xyz,
)


def _first_valid(data):
    for i in range(len(data)):
        mol = to_rdkit(*data.molecule(i))
        if mol.GetIntProp(VALID_PROP):
            return i, mol
    raise AssertionError("no valid molecule")


def test_sdf_round_trip_keeps_atoms_coordinates_bonds_and_flags(qm9_sample, tmp_path: Path):
    i, mol = _first_valid(qm9_sample)
    broken = to_rdkit(
        ["C"] + ["H"] * 5, np.vstack([[0, 0, 0], 1.09 * np.eye(3), -1.09 * np.eye(3)[:2]])
    )
    assert broken.GetIntProp(VALID_PROP) == 0 and broken.GetProp(SMILES_PROP) == ""
    path = write_sdf(tmp_path / "m.sdf", [mol, broken])
    back, skipped = read_sdf(path)
    assert skipped == [] and len(back) == 2
    symbols, coords = from_rdkit(back[0])
    want_symbols, want_coords = qm9_sample.molecule(i)
    assert symbols == want_symbols
    assert np.allclose(coords, want_coords, atol=1e-4)  # SDF keeps 4 decimals
    assert np.array_equal(bond_orders(symbols, coords), bond_orders(want_symbols, want_coords))
    assert back[0].GetNumBonds() == mol.GetNumBonds()
    assert back[1].GetProp(VALID_PROP) == "0"
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically


def test_xyz_round_trip(qm9_sample, tmp_path: Path):
    molecules = [qm9_sample.molecule(i) for i in range(5)]
    path = write_xyz(tmp_path / "m.xyz", molecules)
    back, bad = read_molecules(path)
    assert bad == [] and len(back) == 5
    for (s, c), (s2, c2) in zip(molecules, back, strict=True):
        assert s == s2 and np.allclose(c, c2, atol=1e-6)


def _sdf_with_bad_second_record(tmp_path: Path, qm9_sample) -> Path:
    good = write_sdf(tmp_path / "good.sdf", [to_rdkit(*qm9_sample.molecule(i)) for i in range(3)])
    records = good.read_text().split("$$$$\n")
    records[1] = "garbage\nnot a molfile\n  this has no counts line\nM  END\n"
    path = tmp_path / "bad.sdf"
    path.write_text("$$$$\n".join(records))
    return path


def test_malformed_sdf_record_error_names_file_and_index(qm9_sample, tmp_path: Path):
    path = _sdf_with_bad_second_record(tmp_path, qm9_sample)
    with pytest.raises(DataError, match=r"bad\.sdf: SDF record 1 is malformed"):
        read_molecules(path)
    data, skipped = load_molecule_file(path, skip_bad=True)
    assert len(data) == 2 and len(skipped) == 1 and "record 1" in skipped[0]


def test_sdf_without_3d_coordinates_is_rejected(tmp_path: Path):
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.Compute2DCoords(mol)
    path = tmp_path / "flat.sdf"
    path.write_text(Chem.MolToMolBlock(mol) + "$$$$\n")
    with pytest.raises(DataError, match=r"flat\.sdf: SDF record 0 has no 3D coordinates"):
        read_molecules(path)


def test_malformed_xyz_and_unknown_suffix(tmp_path: Path):
    path = tmp_path / "bad.xyz"
    path.write_text("2\nok\nH 0 0 0\nH 0 0 0.74\n3\nbroken\nC 0 0 0\nQq 1 2 3\nH 0 0 1\n")
    with pytest.raises(DataError, match=r"bad\.xyz: XYZ record 1 line 8"):
        read_molecules(path)
    good, bad = read_molecules(path, skip_bad=True)
    assert len(good) == 1 and len(bad) == 1
    other = tmp_path / "x.pdb"
    other.write_text("")
    with pytest.raises(DataError, match="unsupported"):
        read_molecules(other)
    with pytest.raises(DataError, match="no such file"):
        read_molecules(tmp_path / "missing.sdf")


def _unbonded_mol(symbols: list[str], coords: np.ndarray):
    """An RDKit Mol of the atoms with a 3D conformer and no bonds (any elements)."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    mol = Chem.RWMol()
    conf = Chem.Conformer(len(symbols))
    conf.Set3D(True)
    for i, (symbol, xyz) in enumerate(zip(symbols, coords, strict=True)):
        mol.AddAtom(Chem.Atom(symbol))
        conf.SetAtomPosition(i, Point3D(*map(float, xyz)))
    mol.AddConformer(conf)
    return mol.GetMol()


@pytest.mark.parametrize("suffix", [".sdf", ".xyz"])
def test_a_record_with_an_element_outside_the_bond_tables_is_refused(suffix: str, tmp_path: Path):
    """H, C, N, O, F only (EDM's bond tables, from which validity, SMILES and written bonds are
    perceived): another element is a DataError naming file, record and element; --skip-bad
    skips the record."""
    water = (["O", "H", "H"], np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], float))
    iodine = (["I", "C", "H", "H", "H"], np.vstack([[2.14, 0, 0], np.zeros(3), 1.09 * np.eye(3)]))
    path = tmp_path / f"mixed{suffix}"
    if suffix == ".sdf":
        write_sdf(path, [_unbonded_mol(*water), _unbonded_mol(*iodine)])
    else:
        write_xyz(path, [water, iodine])
    with pytest.raises(DataError, match=rf"mixed\{suffix}: record 1: element\(s\) I not supported"):
        load_molecule_file(path)
    data, skipped = load_molecule_file(path, skip_bad=True)
    assert len(data) == 1 and data.atom_types == ("H", "O") and data.smiles == ["[H]O[H]"]
    assert len(skipped) == 1 and "record 1" in skipped[0] and "H, C, N, O, F only" in skipped[0]
