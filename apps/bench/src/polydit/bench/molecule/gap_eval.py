"""EDM's conditional-generation protocol for the HOMO–LUMO gap, with our own property predictor.

EDM trains an EGNN property classifier on half of QM9's training set and reports the MAE between
the target property and the classifier's prediction on molecules generated for that target, next
to two baselines: the classifier's own test error (lower bound) and the MAE against shuffled
targets ("naive", upper bound). Here the predictor is a gradient-boosted regressor on RDKit
Morgan count fingerprints (radius 2, 1,024 bits) + heavy-atom counts of the molecule's SMILES,
fitted on QM9 train molecules; generated molecules are scored through their perceived SMILES, so
only valid ones count.

    python -m polydit.bench.molecule.gap_eval --model DIR --num 300 --cfg 1 --cfg 2
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from polydit.molecule.data import MoleculeSet, load_qm9

FP_BITS = 1024
FIT_MOLECULES = 20000


def features(smiles: list[str]) -> np.ndarray:
    """(M, FP_BITS + 5) Morgan count fingerprints + counts of C, N, O, F, aromatic atoms."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FP_BITS)
    rows = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        fp = gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)
        atoms = [a.GetSymbol() for a in mol.GetAtoms()]
        extra = [atoms.count(e) for e in "CNOF"] + [sum(a.GetIsAromatic() for a in mol.GetAtoms())]
        rows.append(np.concatenate([fp, np.asarray(extra, np.float32)]))
    return np.stack(rows)


def fit_gap_predictor(seed: int = 0) -> tuple[Any, float, np.ndarray]:
    """(regressor, its MAE in eV on 5,000 QM9 test molecules, the test gaps) — fitted on
    FIT_MOLECULES QM9 train molecules."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(seed)
    train, test = load_qm9("train"), load_qm9("test")
    fit = _subset(train, rng.permutation(len(train))[:FIT_MOLECULES])
    held = _subset(test, rng.permutation(len(test))[:5000])
    model = HistGradientBoostingRegressor(max_iter=300, random_state=seed)
    model.fit(features(fit.smiles), fit.gap)
    mae = float(np.abs(model.predict(features(held.smiles)) - held.gap).mean())
    return model, mae, np.asarray(test.gap, np.float64)


def _subset(data: MoleculeSet, index: np.ndarray) -> MoleculeSet:
    return data.subset(np.sort(index))


def conditional_mae(
    generator: Any, predictor: Any, targets: np.ndarray, seed: int = 0, **sampling: Any
) -> dict[str, float]:
    """Generate molecule i for target gap targets[i]; MAE of the predictor's gaps on the valid
    ones against their targets and against shuffled targets."""
    from polydit.molecule.io import SMILES_PROP, VALID_PROP

    mols = generator.sample(len(targets), seed, gap=torch_tensor(targets), **sampling)
    valid = [i for i, m in enumerate(mols) if m.GetIntProp(VALID_PROP)]
    pred = predictor.predict(features([mols[i].GetProp(SMILES_PROP) for i in valid]))
    hit = targets[valid]
    shuffled = np.random.default_rng(seed + 1).permutation(hit)
    return {
        "num": len(targets),
        "num_valid": len(valid),
        "mae": float(np.abs(pred - hit).mean()),
        "mae_shuffled_targets": float(np.abs(pred - shuffled).mean()),
    }


def torch_tensor(values: np.ndarray):
    import torch

    return torch.as_tensor(values, dtype=torch.float32)


def main() -> None:
    from polydit.molecule import load_pretrained

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--num", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg", type=float, action="append", default=None)
    parser.add_argument("--sampler", default="ddpm", help="ddpm (shipped QM9 default) or euler")
    args = parser.parse_args()
    started = time.perf_counter()
    predictor, test_mae, test_gaps = fit_gap_predictor(args.seed)
    print(
        json.dumps({"predictor_test_mae": test_mae, "fit_seconds": time.perf_counter() - started})
    )
    targets = np.random.default_rng(args.seed).choice(test_gaps, args.num)
    generator = load_pretrained(args.model)
    for cfg in args.cfg or [1.0]:
        started = time.perf_counter()
        row = conditional_mae(
            generator, predictor, targets, args.seed, cfg_scale=cfg, sampler=args.sampler
        )
        row.update(cfg=cfg, sampler=args.sampler, seconds=time.perf_counter() - started)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
