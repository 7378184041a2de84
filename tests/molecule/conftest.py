"""Shared fixtures: QM9 test-split molecules, a tiny untrained generator directory, a folder of
CIF files with a tiny crystal model trained on it, and a runner of polydit-molecule commands."""

import json
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
def cif_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 procedural rock-salt and CsCl crystals, one CIF file each."""
    from polydit.molecule.crystal.builtin import procedural_crystals
    from polydit.molecule.crystal.io import write_cifs

    structures = [r.structure for r in procedural_crystals(0, 1, prototypes=("rocksalt", "cscl"))]
    directory = tmp_path_factory.mktemp("cifs")
    write_cifs(directory, structures[:24])
    return directory


@pytest.fixture(scope="session")
def crystal_model(cif_dir: Path, tmp_path_factory: pytest.TempPathFactory, run_cli) -> Path:
    """A 'tiny' crystal model trained 3 steps on `cif_dir` by the CLI (4 sampling steps)."""
    run = tmp_path_factory.mktemp("crun")
    config = run / "c.json"
    config.write_text(
        json.dumps(
            {
                "preset": "tiny",
                "sampling": {"steps": 4},
                "train": {"batch_size": 8, "log_every": 1, "checkpoint_every": 2},
            }
        )
    )
    run_cli("train", "--data", str(cif_dir), "--config", str(config), "--steps", "3",
         "--out", str(run / "r"))  # fmt: skip
    return run / "r" / "model"


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
