"""Evaluating a generator with EDM's protocol: sample, score, compare with the training SMILES."""

from __future__ import annotations

import json
import time
from typing import Any

from polydit.core.atomic import atomic_write_text
from polydit.molecule.data import BUILTINS, CACHE_VERSION, MoleculeSet, cache_dir, load_qm9
from polydit.molecule.metrics import analyse, edm_metrics, quiet_rdkit

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
    known = novelty and generator.data in BUILTINS
    reference = training_smiles(generator.data) if known else None
    metrics = edm_metrics((atoms.molecule(i) for i in range(num)), reference)
    metrics["sampling_seconds"] = seconds
    return metrics


def training_crystals(name: str, max_atoms: int, seed: int = 0) -> list | None:
    """The training structures of built-in crystal set `name` (novelty reference), else None."""
    from polydit.molecule.crystal_data import CRYSTAL_BUILTIN, load_crystals

    if name != CRYSTAL_BUILTIN:
        return None
    return load_crystals(name, max_atoms=max_atoms, seed=seed)[0].structures


def evaluate_crystal_generator(
    generator: Any, num: int = EVAL_NUM, seed: int = 0, *, novelty: bool = True, **sampling: Any
) -> dict[str, float]:
    """CDVAE/DiffCSP/ADiT crystal metrics of `num` samples (see
    :mod:`polydit.molecule.crystal_metrics`), novelty against the built-in training set when the
    model was trained on it, and the sampling time."""
    from polydit.molecule.crystal_metrics import crystal_metrics

    started = time.perf_counter()
    structures = generator.sample(num, seed, **sampling)
    seconds = time.perf_counter() - started
    reference = training_crystals(generator.data, generator.max_atoms) if novelty else None
    metrics = crystal_metrics(structures, reference)
    metrics["sampling_seconds"] = seconds
    return metrics
