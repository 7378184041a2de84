"""Shared fixtures: QM9 test-split molecules, a tiny untrained generator directory and a runner
of polydit-molecule commands."""

from pathlib import Path

import numpy as np
import pytest

from polydit.molecule.data import MoleculeSet, load_qm9


@pytest.fixture(scope="session")
def qm9_test() -> MoleculeSet:
    return load_qm9("test")


@pytest.fixture(scope="session")
def qm9_sample(qm9_test: MoleculeSet) -> MoleculeSet:
    """1,000 QM9 test molecules (fixed draw)."""
    idx = np.random.default_rng(0).permutation(len(qm9_test))[:1000]
    return qm9_test.subset(np.sort(idx))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, qm9_sample: MoleculeSet) -> Path:
    """An untrained 'tiny' generator saved as a pretrained directory (few sampling steps)."""
    from polydit.core.pipeline import SamplingConfig
    from polydit.molecule.train import MoleculeTrainSpec, build

    spec = MoleculeTrainSpec(preset="tiny", sampling=SamplingConfig(steps=3))
    generator = build(spec, qm9_sample.subset(np.arange(50)), seed=0)
    generator.codec = generator.codec.replace(data="tiny-test")
    return generator.save_pretrained(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def run_cli():
    """run_cli(*args): the output of a polydit-molecule command that must succeed."""
    from typer.testing import CliRunner

    from polydit.molecule.cli import app

    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run
