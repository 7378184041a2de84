"""The denoising probe (`bench probe`): real molecules noised to t, one model call, EDM metrics."""

import json

import numpy as np
import pytest
import torch

from polydit.bench.molecule.probe import PROBE_ROWS, probe, probe_molecules
from polydit.core.process import FlowMatching
from polydit.molecule.metrics import edm_metrics
from polydit.molecule.pipeline import MoleculeGenerator

TIMES = (0.02, 0.1, 0.5)


class Oracle(torch.nn.Module):
    """A 'model' that knows the clean tokens x0 (B, N, C) and returns the output of `process`'s
    parameterisation that decodes to exactly them (one call must cover the whole batch)."""

    def __init__(self, x0: torch.Tensor, process: FlowMatching):
        super().__init__()
        self.x0, self.process = x0, process

    def forward(self, tokens, t, cond=None):
        alpha, sigma = (s.reshape(-1, 1, 1) for s in self.process.schedule(t))
        eps = (tokens.x - alpha * self.x0) / sigma
        return self.process.from_x0_eps(self.x0, eps, t)


@pytest.mark.parametrize("prediction", ["x0", "velocity"])
def test_an_oracle_denoiser_gives_the_datas_own_metrics_at_every_t(
    tiny_model_dir, qm9_sample, prediction
):
    codec = MoleculeGenerator.from_pretrained(tiny_model_dir).codec.replace(centre_noise=True)
    data = probe_molecules(qm9_sample, 120, seed=1)
    assert len(data) == 120 <= PROBE_ROWS
    process = FlowMatching(prediction=prediction)
    x0 = codec.encode(data.batch(torch.arange(len(data)))).x
    truth = edm_metrics(data.molecule(i) for i in range(len(data)))
    assert truth["molecule_stability"] < 1  # the data's own numbers are not trivially 1
    rows = probe(Oracle(x0, process), process, codec, data, TIMES, seed=0)
    assert [r["t"] for r in rows] == list(TIMES)
    for row in rows:
        for key in ("atom_stability", "molecule_stability", "validity", "valid_and_connected"):
            assert row[key] == pytest.approx(truth[key], abs=1e-12), (row["t"], key)


def test_the_tiny_models_numbers_are_fractions_and_the_cli_prints_one_line_per_t(
    tiny_model_dir, capsys
):
    from polydit.bench.molecule.bench import main

    main(["probe", "--model", str(tiny_model_dir), "--t", "0.05,0.3", "--num", "40"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["t"] for r in rows] == [0.05, 0.3]
    for row in rows:
        assert row["num_molecules"] == 40
        for key in ("atom_stability", "molecule_stability", "validity", "valid_and_connected"):
            assert 0.0 <= row[key] <= 1.0
        assert row["valid_and_connected"] <= row["validity"]


def test_probe_molecules_are_a_seeded_draw_without_replacement(qm9_sample):
    a, b = probe_molecules(qm9_sample, 50, 3), probe_molecules(qm9_sample, 50, 3)
    assert a.smiles == b.smiles and len(set(a.smiles)) == 50
    assert a.smiles != probe_molecules(qm9_sample, 50, 4).smiles
    assert np.array_equal(a.num_atoms, b.num_atoms)
