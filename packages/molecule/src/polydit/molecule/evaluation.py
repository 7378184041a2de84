"""Evaluating molecules with EDM's protocol: :func:`evaluate` scores given molecules (RDKit Mols
with 3D conformers, or atoms and coordinates), :func:`evaluate_generator` samples a generator
and scores its molecules (optionally drawing the report figure of :mod:`polydit.molecule.report`),
both against the training SMILES for novelty."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.core.errors import ConfigError, DataError
from polydit.molecule.bonds import ALLOWED_VALENCE
from polydit.molecule.chem import quiet_rdkit
from polydit.molecule.data import BUILTINS, CACHE_VERSION, MoleculeSet, cache_dir, load_qm9
from polydit.molecule.metrics import analyse, edm_metrics, generated_bond_metrics

EVAL_NUM = 1000
Molecule = tuple[list[str], np.ndarray]


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


def molecule_atoms(mols: Any) -> list[Molecule]:
    """(symbols, coords (n, 3) Å) of each molecule of `mols`: RDKit Mols with a 3D conformer,
    (symbols, coords) pairs, or a batch with ``molecule(i)`` and ``len`` (GeneratedAtoms,
    MoleculeSet). A molecule that cannot be scored is a DataError naming ``mols[i]``."""
    if hasattr(mols, "molecule") and hasattr(mols, "__len__"):
        return [mols.molecule(i) for i in range(len(mols))]
    if isinstance(mols, str | bytes) or not isinstance(mols, Iterable):
        raise ConfigError(
            "mols: expected RDKit Mols, (symbols, coords) pairs or a batch of molecules, got "
            f"{type(mols).__name__}"
        )
    out = [_atoms(item, f"mols[{i}]") for i, item in enumerate(mols)]
    if not out:
        raise ConfigError("mols: no molecule to evaluate")
    return out


def _atoms(item: Any, where: str) -> Molecule:
    from rdkit import Chem

    if isinstance(item, Chem.Mol):
        if item.GetNumConformers() == 0 or not item.GetConformer().Is3D():
            raise DataError(f"{where}: the Mol has no 3D conformer (evaluate needs coordinates)")
        symbols = [a.GetSymbol() for a in item.GetAtoms()]
        coords = np.asarray(item.GetConformer().GetPositions(), dtype=np.float64)
    elif isinstance(item, tuple | list) and len(item) == 2:
        symbols = [str(s) for s in item[0]]
        coords = np.asarray(item[1], dtype=np.float64)
        if coords.shape != (len(symbols), 3):
            raise DataError(
                f"{where}: coords of shape {coords.shape} for {len(symbols)} atoms; "
                f"expected ({len(symbols)}, 3)"
            )
    else:
        raise ConfigError(
            f"{where}: expected an RDKit Mol or a (symbols, coords) pair, got {type(item).__name__}"
        )
    unknown = sorted(set(symbols) - set(ALLOWED_VALENCE))
    if unknown:
        raise DataError(
            f"{where}: element(s) {', '.join(unknown)}; EDM's bond tables cover "
            f"{', '.join(ALLOWED_VALENCE)} only"
        )
    return symbols, coords


def evaluate(mols: Any, train_smiles: set[str] | None = None) -> dict[str, float]:
    """EDM's metrics (:func:`polydit.molecule.metrics.edm_metrics`: atom and molecule stability,
    validity, uniqueness, and novelty against `train_smiles`, e.g. ``training_smiles("qm9")``)
    of `mols` (see :func:`molecule_atoms`). Bonds are perceived from the coordinates as for
    generated molecules, never taken from a Mol, so hydrogens must be atoms with coordinates
    (read SDF files with ``removeHs=False``)."""
    return edm_metrics(molecule_atoms(mols), train_smiles)


def reference_molecules(data: str) -> list[Molecule] | None:
    """The molecules a report compares a model trained on `data` with: the QM9 test split (with
    or without hydrogens) for a built-in set, else None (a user's file is not kept)."""
    if data not in BUILTINS:
        return None
    test = load_qm9("test", hydrogens=data == "qm9")
    return [test.molecule(i) for i in range(len(test))]


def evaluate_generator(
    generator: Any,
    num: int = EVAL_NUM,
    seed: int = 0,
    *,
    novelty: bool = True,
    report: Path | None = None,
    **sampling: Any,
) -> dict[str, float]:
    """EDM metrics of `num` samples (see :mod:`polydit.molecule.metrics` for denominators; a
    bond-mode model's samples are also scored with their generated bonds), with
    novelty against the training SMILES when asked and the model was trained on a built-in set,
    and the sampling time; with `report` (a directory), also the figure
    report/molecule_report.png of the same samples against the data."""
    from polydit.molecule.report import REPORT_NAME, write_report

    started = time.perf_counter()
    atoms = generator.generate_atoms(num, seed, **sampling)
    seconds = time.perf_counter() - started
    data = generator.codec.data
    reference = training_smiles(data) if novelty and data in BUILTINS else None
    molecules = [atoms.molecule(i) for i in range(num)]
    metrics = edm_metrics(molecules, reference)
    if getattr(atoms, "bonds", None) is not None:  # a bond-mode model: also score its bonds
        orders = [atoms.bond_orders(i) for i in range(num)]
        metrics |= generated_bond_metrics(molecules, orders, reference)
    metrics["sampling_seconds"] = seconds
    if report is not None:
        bonds = " and the QM9 test split's bonds" if data in BUILTINS else ""
        title = f"{num} molecules of the {data} model (seed {seed}) vs its training atom counts"
        sizes = generator.codec.size_histogram
        write_report(
            Path(report) / REPORT_NAME, molecules, sizes, reference_molecules(data), title + bonds
        )
    return metrics
