"""Evaluating a crystal generator: sample, score with CDVAE/DiffCSP/ADiT's metrics, compare with
the built-in set (novelty, the distribution distances and the structure match use it as the
reference: the set has no test split)."""

from __future__ import annotations

import time
from typing import Any

from polydit.molecule.crystal.data import CRYSTAL_BUILTIN, load_crystals
from polydit.molecule.crystal.metrics import crystal_metrics
from polydit.molecule.evaluation import EVAL_NUM


def training_crystals(name: str, max_atoms: int, seed: int = 0) -> list | None:
    """The training structures of built-in crystal set `name` (the reference), else None."""
    if name != CRYSTAL_BUILTIN:
        return None
    return load_crystals(name, max_atoms=max_atoms, seed=seed)[0].structures


def evaluate_crystal_generator(
    generator: Any, num: int = EVAL_NUM, seed: int = 0, *, novelty: bool = True, **sampling: Any
) -> dict[str, float]:
    """CDVAE/DiffCSP/ADiT crystal metrics of `num` samples (see
    :mod:`polydit.molecule.crystal.metrics`), novelty, distances and structure match against the
    built-in training set when the model was trained on it, and the sampling time."""
    started = time.perf_counter()
    structures = generator.sample(num, seed, **sampling)
    seconds = time.perf_counter() - started
    codec = generator.codec
    reference = training_crystals(codec.data, codec.max_atoms) if novelty else None
    metrics = crystal_metrics(structures, reference)
    metrics["sampling_seconds"] = seconds
    return metrics
