"""bf16 autocast sampling of the shipped chair-small model keeps the quality of fp32.

8 chairs with the model's own sampler and steps, drawn once in fp32 and once in bf16 from the
same seeds, in original units, scored by Chamfer distance (CD, the DiT-3D/PVD definition that
MMD-CD and 1-NNA-CD are built on). Tolerances:

* MMD-CD against the test chairs (the domain's metric) within 5 % of its fp32 value: the two
  sets are pairwise near-identical, so only the bf16 rounding can move it (measured 1.807e-3 and
  1.804e-3, 0.14 %);
* the mean CD between a bf16 cloud and its fp32 twin ≤ 5 % of the mean CD between clouds of
  different seeds (measured 4.3e-6 vs 3.4e-3, i.e. 0.13 %);
* every bf16 cloud's nearest fp32 cloud is its twin (the largest paired CD, 2.3e-5, was below
  the smallest CD between different clouds, 6.4e-4).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from polydit.core.metrics import mmd_nn
from polydit.pointcloud.cli import DOMAIN
from polydit.pointcloud.data import load_shapes
from polydit.pointcloud.distances import pairwise_chamfer

pytestmark = pytest.mark.bf16

NUM = 8
MMD_RELATIVE_CHANGE = 0.05
MAX_TWIN_RATIO = 0.05


@pytest.fixture(scope="module")
def runs() -> tuple[Tensor, dict[str, Tensor]]:
    """(test clouds (R, N, 3), {"fp32" | "bf16": generated clouds (NUM, N, 3)}), all in
    original units."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    codec = generator.codec
    test = load_shapes("test", codec.class_names, codec.num_points).denormalised()
    clouds = {
        d: torch.from_numpy(generator.sample(NUM, seed=0, dtype=d).points) for d in ("fp32", "bf16")
    }
    return test, clouds


def test_bf16_keeps_mmd_cd(runs: tuple[Tensor, dict[str, Tensor]]) -> None:
    test, clouds = runs
    mmd = {d: mmd_nn(pairwise_chamfer(x, test)) for d, x in clouds.items()}
    assert abs(mmd["bf16"] - mmd["fp32"]) <= MMD_RELATIVE_CHANGE * mmd["fp32"], mmd


def test_a_bf16_cloud_is_nearest_to_its_fp32_twin(runs: tuple[Tensor, dict[str, Tensor]]) -> None:
    _, clouds = runs
    distance = pairwise_chamfer(clouds["bf16"], clouds["fp32"])  # (NUM, NUM)
    paired = distance.diag().mean().item()
    other = distance[~torch.eye(NUM, dtype=torch.bool)].mean().item()
    assert paired <= MAX_TWIN_RATIO * other, (paired, other)
    assert distance.argmin(1).tolist() == list(range(NUM))
