"""Slow: a tiny model trained briefly beats a random-coordinates baseline on EDM metrics."""

import numpy as np
import pytest

from polydit.molecule.metrics import edm_metrics

NUM = 200
STEPS = 3000


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    """EDM metrics of the briefly trained tiny model and of random coordinates (same atoms)."""
    tmp_path = tmp_path_factory.mktemp("quality")
    from polydit.core.pipeline import SamplingConfig
    from polydit.core.train import RunOptions, TrainConfig, TrainData, fit
    from polydit.molecule.data import load_qm9
    from polydit.molecule.train import RECIPE, MoleculeTrainSpec

    data = load_qm9("train")
    data = data.subset(np.arange(20_000))
    spec = MoleculeTrainSpec(
        preset="tiny",
        pair_bias=True,
        sampling=SamplingConfig(steps=50),
        train=TrainConfig(steps=STEPS, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.99,
                          schedule="constant", checkpoint_every=STEPS, log_every=100),
    )  # fmt: skip
    options = RunOptions(out=tmp_path / "run", progress=False)
    generator = fit(RECIPE, spec, TrainData(data, data.name), options).pipeline
    atoms = generator.generate_atoms(NUM, seed=0)
    model = edm_metrics(atoms.molecule(i) for i in range(NUM))

    # Baseline: the same atom counts and element types, coordinates drawn from a Gaussian with
    # the training data's per-axis spread.
    rng = np.random.default_rng(0)
    mask = data.types >= 0
    std = data.coords[mask].std(0)
    random = []
    for i in range(NUM):
        symbols, _ = atoms.molecule(i)
        random.append((symbols, rng.normal(0.0, std, (len(symbols), 3))))
    return model, edm_metrics(random)


@pytest.mark.slow
def test_tiny_model_beats_random_coordinates_on_atom_stability(scores):
    model, baseline = scores
    # measured 2026-11-24: 27.8% vs 18.1% (3,000 steps, about 2.5 min on one core)
    assert model["atom_stability"] > baseline["atom_stability"] + 0.05, (model, baseline)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-11-24: 14.0% validity vs 17.0% for random coordinates (disconnected "
    "atoms sanitise); the tiny model needs longer than 3,000 steps (the shipped small model "
    "reaches 38.2%)",
)
def test_tiny_model_beats_random_coordinates_on_validity(scores):
    model, baseline = scores
    assert model["validity"] > baseline["validity"], (model, baseline)
