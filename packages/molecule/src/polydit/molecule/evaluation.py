"""Evaluating a molecule generator with EDM's protocol: sample, score, compare with the training
SMILES."""

from __future__ import annotations

import json
import time
from typing import Any

from polydit.core.atomic import atomic_write_text
from polydit.molecule.chem import quiet_rdkit
from polydit.molecule.data import BUILTINS, CACHE_VERSION, MoleculeSet, cache_dir, load_qm9
from polydit.molecule.metrics import analyse, edm_metrics

EVAL_NUM = 1000


def dataset_smiles(data: MoleculeSet) -> set[str]:
    """Valid largest-fragment SMILES of `data`, computed like generated ones (EDM's novelty
    reference)."""
    out = set()
    with quiet_rdkit():
        for i in range(len(data)):
            smiles = analyse(*data.molecule(i)).smiles
            if smiles is not None:
                out.add(smiles)
    return out


def training_smiles(name: str, seed: int = 0) -> set[str]:
    """The novelty reference of built-in set `name` (its train split), cached on disk."""
    path = cache_dir() / f"{name}_train_smiles_v{CACHE_VERSION}_seed{seed}.json"
    if path.is_file():
        return set(json.loads(path.read_text()))
    smiles = dataset_smiles(load_qm9("train", hydrogens=name == "qm9", seed=seed))
    atomic_write_text(path, json.dumps(sorted(smiles)))
    return smiles


def evaluate_generator(
    generator: Any, num: int = EVAL_NUM, seed: int = 0, *, novelty: bool = True, **sampling: Any
) -> dict[str, float]:
    """EDM metrics of `num` samples (see :mod:`polydit.molecule.metrics` for denominators), with
    novelty against the training SMILES when asked and the model was trained on a built-in set,
    and the sampling time."""
    started = time.perf_counter()
    atoms = generator.generate_atoms(num, seed, **sampling)
    seconds = time.perf_counter() - started
    data = generator.codec.data
    reference = training_smiles(data) if novelty and data in BUILTINS else None
    metrics = edm_metrics((atoms.molecule(i) for i in range(num)), reference)
    metrics["sampling_seconds"] = seconds
    return metrics
