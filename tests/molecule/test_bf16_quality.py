"""bf16 autocast sampling of the shipped QM9 model keeps the quality of fp32.

32 molecules with the model's own sampler and steps (DDPM ancestral: the same seeds draw the
same noise in both runs), once in fp32 and once in bf16; atom counts come from the seed, so the
pairs have the same atoms in the same slots. Tolerances:

* atom stability (EDM's, the domain's metric) within 4 points: over the ~590 atoms of 32
  molecules its binomial s.e. is ~1.9 points, and the runs are paired (measured 68.9 % and
  69.0 %);
* the same stability verdict for ≥ 90 % of the atoms of the pairs (measured 97.8 %) and the
  same atom type for ≥ 95 % of them (measured 99.5 %);
* the coordinates of a pair within 0.1 Å root-mean-square on average (measured 0.009 Å; a C–H
  bond is 1.09 Å long, EDM's bond-length margins are 0.1–0.2 Å).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polydit.molecule.cli import DOMAIN
from polydit.molecule.codec import GeneratedAtoms
from polydit.molecule.metrics import atom_stability, edm_metrics

pytestmark = pytest.mark.bf16

NUM = 32
STABILITY_POINTS = 0.04
MIN_STABLE_AGREEMENT = 0.90
MIN_TYPE_AGREEMENT = 0.95
MAX_MEAN_RMS_ANGSTROM = 0.1


@pytest.fixture(scope="module")
def runs() -> dict[str, GeneratedAtoms]:
    """{"fp32" | "bf16": the NUM generated molecules}."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    return {d: generator.generate_atoms(NUM, 0, dtype=d) for d in ("fp32", "bf16")}


def test_bf16_keeps_atom_stability(runs: dict[str, GeneratedAtoms]) -> None:
    stability = {
        d: edm_metrics([atoms.molecule(i) for i in range(NUM)])["atom_stability"]
        for d, atoms in runs.items()
    }
    assert abs(stability["bf16"] - stability["fp32"]) <= STABILITY_POINTS, stability


def test_a_bf16_molecule_is_its_fp32_twin(runs: dict[str, GeneratedAtoms]) -> None:
    fp32, bf16 = runs["fp32"], runs["bf16"]
    assert torch.equal(fp32.num_atoms, bf16.num_atoms)
    real = fp32.types >= 0  # (NUM, N): the atoms, not the padding
    same_type = (fp32.types == bf16.types)[real].float().mean().item()
    assert same_type >= MIN_TYPE_AGREEMENT, same_type
    same_verdict = np.concatenate(
        [atom_stability(*fp32.molecule(i)) == atom_stability(*bf16.molecule(i)) for i in range(NUM)]
    )
    assert same_verdict.mean() >= MIN_STABLE_AGREEMENT, same_verdict.mean()
    squared = (fp32.coords - bf16.coords).pow(2).sum(-1) * real  # (NUM, N) Å²
    rms = (squared.sum(1) / real.sum(1)).sqrt()
    assert rms.mean().item() <= MAX_MEAN_RMS_ANGSTROM, rms.tolist()
