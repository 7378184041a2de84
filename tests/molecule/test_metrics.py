"""EDM metrics on known molecules: QM9 ground truth scores at the data ceiling; broken fail."""

import numpy as np
import pytest

from polydit.molecule.bonds import bond_orders
from polydit.molecule.metrics import analyse, atom_stability, edm_metrics


def test_qm9_ground_truth_scores_near_edm_data_ceiling(qm9_sample):
    m = edm_metrics(qm9_sample.molecule(i) for i in range(len(qm9_sample)))
    # EDM reports 99.0 / 95.2 / 97.7 for QM9's own molecules.
    assert m["atom_stability"] == pytest.approx(0.990, abs=0.006)
    assert m["molecule_stability"] == pytest.approx(0.952, abs=0.02)
    assert m["validity"] == pytest.approx(0.977, abs=0.015)
    assert m["uniqueness"] == 1.0
    assert m["num_molecules"] == 1000
    assert m["num_atoms"] == int(qm9_sample.num_atoms.sum())


def test_methane_and_water_are_stable_with_expected_bonds():
    methane = (
        ["C", "H", "H", "H", "H"],
        np.array([[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                  [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]], dtype=float),
    )  # fmt: skip
    orders = bond_orders(*methane)
    assert orders[0, 1:].tolist() == [1, 1, 1, 1] and orders[1:, 1:].sum() == 0
    assert atom_stability(*methane).all()
    report = analyse(*methane)
    assert report.stable and report.smiles == "[H]C([H])([H])[H]"


def test_bond_order_thresholds_follow_edm_margins():
    # C–C: single below 154+10 pm, double below 134+5, triple below 120+3.
    for d, order in [(1.63, 1), (1.65, 0), (1.38, 2), (1.40, 1), (1.22, 3), (1.24, 2)]:
        xyz = np.array([[0, 0, 0], [d, 0, 0]], dtype=float)
        assert bond_orders(["C", "C"], xyz)[0, 1] == order, d
    # H–H has no double bond entry: order stays 1 at any short distance.
    assert bond_orders(["H", "H"], np.array([[0, 0, 0], [0.3, 0, 0]], float))[0, 1] == 1


def test_scrambled_molecule_is_unstable_and_counts_use_stated_denominators(qm9_sample):
    good = qm9_sample.molecule(
        next(i for i in range(50) if analyse(*qm9_sample.molecule(i)).stable)
    )
    symbols, coords = good
    scrambled = (symbols, np.random.default_rng(0).normal(0, 0.6, coords.shape))
    report = analyse(*scrambled)
    assert not report.stable
    m = edm_metrics([good, good, scrambled], train_smiles={analyse(*good).smiles})
    n_atoms = 3 * len(symbols)
    assert m["atom_stability"] == pytest.approx((2 * len(symbols) + report.stable_atoms) / n_atoms)
    assert m["molecule_stability"] == pytest.approx(2 / 3)
    valid = 2 + (report.smiles is not None)
    assert m["validity"] == pytest.approx(valid / 3)
    unique = 1 + (report.smiles is not None and report.smiles != analyse(*good).smiles)
    assert m["uniqueness"] == pytest.approx(unique / valid)
    assert m["novelty"] == pytest.approx((unique - 1) / unique)
    assert m["novelty_over_valid"] == pytest.approx((unique - 1) / valid)


def test_overvalent_carbon_is_invalid():
    # Five hydrogens at bonding distance around one carbon: valence 5 fails sanitisation.
    dirs = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]], float)
    xyz = np.vstack([[0, 0, 0], 1.09 * dirs])
    report = analyse(["C"] + ["H"] * 5, xyz)
    assert report.smiles is None and not report.stable


def test_valid_and_connected_counts_whole_single_fragment_molecules_only():
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=0)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    coords = mol.GetConformer().GetPositions()
    apart = np.concatenate([coords, coords + 10.0])  # two ethanols 17 Å apart: valid, 2 fragments
    scores = edm_metrics([(symbols, coords), (symbols + symbols, apart)])
    assert scores["validity"] == 1.0  # EDM keeps the largest fragment
    assert scores["valid_and_connected"] == 0.5 and scores["num_valid_and_connected"] == 1
