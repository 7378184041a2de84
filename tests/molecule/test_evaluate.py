"""`evaluate(mols)`: EDM metrics of RDKit Mols with 3D conformers, scored like our own samples."""

import numpy as np
import pytest
from rdkit import Chem

from polydit.core.errors import ConfigError, DataError
from polydit.molecule import evaluate
from polydit.molecule.metrics import edm_metrics


def _xyz_mol(symbols, coords):
    """An RDKit Mol from an XYZ block (RDKit's own reader: atoms and a 3D conformer, no bonds)."""
    rows = [f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(symbols, coords, strict=True)]
    return Chem.MolFromXYZBlock("\n".join([str(len(symbols)), "qm9", *rows]) + "\n")


def test_qm9_rdkit_mols_score_like_our_samples_and_the_readme_data_row(qm9_sample):
    molecules = [qm9_sample.molecule(i) for i in range(300)]
    mols = [_xyz_mol(*m) for m in molecules]
    assert all(m.GetNumBonds() == 0 and m.GetConformer().Is3D() for m in mols)
    got = evaluate(mols)
    assert got == edm_metrics(molecules)  # bonds perceived from coordinates, the same way
    assert got == evaluate(molecules) == evaluate(qm9_sample.subset(np.arange(300)))
    # README's QM9 test-split row: 99.37 / 95.35 / 97.68 (13,083 molecules)
    assert got["atom_stability"] == pytest.approx(0.9937, abs=0.006)
    assert got["molecule_stability"] == pytest.approx(0.9535, abs=0.03)
    assert got["validity"] == pytest.approx(0.9768, abs=0.025)
    assert got["uniqueness"] == 1.0 and got["num_molecules"] == 300


def test_bonds_stored_in_a_mol_are_ignored_and_novelty_uses_the_given_smiles(qm9_sample):
    from polydit.molecule.io import SMILES_PROP, to_rdkit

    symbols, coords = qm9_sample.molecule(0)
    perceived = to_rdkit(symbols, coords)  # EDM bonds stored in the Mol
    stripped = Chem.RWMol(perceived)
    for bond in list(stripped.GetBonds()):
        stripped.RemoveBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx())
    known = {perceived.GetProp(SMILES_PROP)}
    assert evaluate([perceived], known) == evaluate([stripped.GetMol()], known)
    assert evaluate([perceived], known)["novelty"] == 0.0
    assert evaluate([perceived], set())["novelty"] == 1.0


def test_what_evaluate_cannot_score_is_our_error_naming_the_item():
    flat = Chem.MolFromSmiles("CCO")
    with pytest.raises(DataError, match=r"mols\[0\]: the Mol has no 3D conformer"):
        evaluate([flat])
    salt = _xyz_mol(["Na", "Cl"], np.array([[0.0, 0, 0], [2.4, 0, 0]]))
    with pytest.raises(DataError, match=r"mols\[1\]: element\(s\) Cl, Na"):
        evaluate([_xyz_mol(["H", "H"], np.array([[0.0, 0, 0], [0.74, 0, 0]])), salt])
    with pytest.raises(DataError, match=r"mols\[0\]: coords of shape \(2, 2\)"):
        evaluate([(["H", "H"], np.zeros((2, 2)))])
    with pytest.raises(ConfigError, match=r"mols\[0\]: expected an RDKit Mol"):
        evaluate(["CCO"])
    with pytest.raises(ConfigError, match="mols: expected"):
        evaluate("CCO")
    with pytest.raises(ConfigError, match="mols: no molecule"):
        evaluate([])
