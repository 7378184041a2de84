"""The conditional-generation MAE scores valid molecules only, against their own targets."""

import numpy as np
import pytest

from polydit.bench.molecule.gap_eval import conditional_mae, features
from polydit.molecule.io import to_rdkit


class StubGenerator:
    """Returns QM9 molecules 0..n-1 and records the gap it was asked for."""

    def __init__(self, data):
        self.data = data

    def sample(self, num, seed, gap=None, **sampling):
        self.gap = gap
        return [to_rdkit(*self.data.molecule(i)) for i in range(num)]


class CarbonCount:
    def predict(self, x):
        return x[:, -5]  # number of carbons (features' first count column)


def test_conditional_mae_uses_valid_molecules_and_their_targets(qm9_sample):
    gen = StubGenerator(qm9_sample)
    targets = np.arange(6, dtype=np.float64)
    row = conditional_mae(gen, CarbonCount(), targets, seed=0)
    mols = [to_rdkit(*qm9_sample.molecule(i)) for i in range(6)]
    valid = [i for i, m in enumerate(mols) if m.GetIntProp("polydit_valid")]
    carbons = features([mols[i].GetProp("polydit_smiles") for i in valid])[:, -5]
    assert row["num_valid"] == len(valid) > 0
    assert row["mae"] == pytest.approx(np.abs(carbons - targets[valid]).mean())
    assert gen.gap.tolist() == targets.tolist()
