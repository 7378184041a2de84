"""The point branch (PVD-style point-voxel output layer): shapes, zero start, what it sees
(each point's own coordinates, the conditioning), config round trip, old configs loading
without it, and the training spec's switches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from random_weights import randomised

from polydit.core.errors import ConfigError
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond, Tokens
from polydit.pointcloud.codec import VoxelCodec
from polydit.pointcloud.data import PointCloudSet
from polydit.pointcloud.model import PRESETS, VoxelDiT, VoxelDiTConfig, voxel_dit_config
from polydit.pointcloud.pipeline import PRETRAINED, PointCloudGenerator
from polydit.pointcloud.point_branch import PointBranch
from polydit.pointcloud.train import PROCESSES, PointCloudSpec, build

CONFIGS = Path(__file__).resolve().parents[2] / "packages" / "pointcloud" / "configs"
CODEC = VoxelCodec(num_points=64, resolution=8, patch=2, class_names=("chair", "lamp"))


def points(b: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, CODEC.num_points, 3, generator=torch.Generator().manual_seed(seed))


def model(point_features: int, seed: int = 0) -> VoxelDiT:
    torch.manual_seed(seed)
    config = voxel_dit_config(CODEC, PRESETS["micro"], 2, window=2, point_features=point_features)
    return VoxelDiT(config, CODEC)


def args(seed: int = 0) -> tuple[Tokens, torch.Tensor, Cond]:
    return Tokens(points(seed=seed)), torch.tensor([0.3, 0.8]), Cond(labels=torch.tensor([0, 1]))


def test_the_dit_outputs_f_channels_per_voxel_and_the_branch_three_per_point() -> None:
    net = model(5)
    assert net.config.out_dim == 2**3 * 5 and net.head.linear.out_features == 40
    assert isinstance(net.point_branch, PointBranch)
    assert net.point_branch.inp.in_features == 5 + 3 * (1 + 2 * 6)
    assert randomised(net)(*args()).shape == (2, 64, 3)
    branch = PointBranch(features=4, width=16, frequencies=3, cond_dim=10)
    out = branch(torch.randn(2, 7, 4), torch.randn(2, 7, 3), torch.randn(2, 10))
    assert out.shape == (2, 7, 3)
    assert model(0).point_branch is None


def test_at_initialisation_the_branch_outputs_zero_like_the_plain_model_and_can_learn() -> None:
    plain, branched = model(0), model(5)
    assert torch.equal(branched(*args()), plain(*args()))
    assert branched(*args()).abs().max() == 0
    # the zero final layer is the only thing in the way: its gradient is not zero
    tokens, t, cond = args()
    branched(tokens, t, cond).sub(tokens.x).pow(2).mean().backward()
    assert branched.point_branch.out.weight.grad.abs().max() > 0


def test_points_sharing_a_voxel_field_get_their_own_predictions() -> None:
    """The devoxelized field is the same for two points at the same spot up to a shift far
    below a voxel; the branch's Fourier features of the coordinates tell them apart."""
    branch = randomised(PointBranch(features=4, width=16, frequencies=6, cond_dim=8))
    features = torch.randn(1, 1, 4).expand(1, 2, 4)  # identical devoxelized features
    where = torch.tensor([[[0.10, 0.20, 0.30], [0.13, 0.20, 0.30]]])
    out = branch(features, where, torch.randn(1, 8))
    assert (out[0, 0] - out[0, 1]).abs().max() > 1e-3
    no_fourier = randomised(PointBranch(features=4, width=16, frequencies=0, cond_dim=8))
    assert no_fourier.inp.in_features == 4 + 3


def test_the_conditioning_reaches_the_branch() -> None:
    net = randomised(model(5))
    tokens, t, _ = args()
    a = net(tokens, t, Cond(labels=torch.tensor([0, 0])))
    b = net(tokens, t, Cond(labels=torch.tensor([1, 1])))
    assert (a - b).abs().max() > 1e-3
    features = torch.zeros(2, 64, 5)  # with the voxel features held fixed, c still acts (FiLM)
    c = torch.randn(2, net.config.hidden)
    assert (
        net.point_branch(features, tokens.x, c) - net.point_branch(features, tokens.x, -c)
    ).abs().max() > 1e-3


def test_the_config_round_trips_and_checks_its_fields() -> None:
    config = model(5).config
    assert VoxelDiTConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="p³·5 = 40"):
        VoxelDiT(config.replace(out_dim=24), CODEC)
    with pytest.raises(ConfigError, match="point_width must be ≥ 0"):
        config.replace(point_width=-1)
    with pytest.raises(ConfigError, match="needs point_width ≥ 1"):
        config.replace(point_width=0)


def test_a_saved_branch_generator_loads_with_the_same_samples(tmp_path: Path) -> None:
    process = build_process(ProcessConfig(kind="flow_matching", prediction="velocity"))
    gen = PointCloudGenerator(randomised(model(5)), process, codec=CODEC)
    loaded = PointCloudGenerator.from_pretrained(gen.save_pretrained(tmp_path / "model"))
    assert loaded.model.config == gen.model.config
    assert isinstance(loaded.model.point_branch, PointBranch)
    torch.testing.assert_close(
        torch.from_numpy(loaded.sample(2, seed=1, steps=3).points),
        torch.from_numpy(gen.sample(2, seed=1, steps=3).points),
    )


def test_the_shipped_chair_model_without_the_field_loads_without_a_branch() -> None:
    stored = json.loads((PRETRAINED / "chair-small" / "config.json").read_text())
    assert "point_features" not in stored["model"]
    gen = PointCloudGenerator.from_pretrained("chair-small")
    assert gen.model.config.point_features == 0 and gen.model.point_branch is None
    assert not any(key.startswith("point_branch") for key in gen.model.state_dict())


def test_the_spec_turns_the_branch_on_by_default_and_sets_the_training_times() -> None:
    num = 4
    data = PointCloudSet(
        torch.randn(num, 64, 3),
        torch.tensor([0, 0, 1, 1]),
        torch.zeros(num, 1, 3),
        torch.ones(num, 1, 1),
        ("a", "b"),
        tuple(f"c/{i}" for i in range(num)),
        "random",
        "train",
    )
    spec = PointCloudSpec(num_points=64, resolution=8, patch=4, window=1, preset="micro")
    assert spec.point_features == 0  # off by default: no gain in the README's A/B
    assert build(spec.replace(point_features=32), data, 0).model.config.point_features == 32
    off = build(spec, data, 0).model
    assert off.point_branch is None and off.config.out_dim is None
    chair = json.loads((CONFIGS / "chair-small.json").read_text())
    assert chair["point_features"] == 0  # the shipped model's recipe keeps its network
    flow = build(spec.replace(process="flow", t_sampling="uniform"), data, 0).process
    assert flow.config == PROCESSES["flow"].replace(t_sampling="uniform")
    assert build(spec.replace(process="flow"), data, 0).process.config == PROCESSES["flow"]
    with pytest.raises(ConfigError, match="t_sampling applies to process 'flow'"):
        PointCloudSpec(t_sampling="uniform")
    with pytest.raises(ConfigError, match="t_sampling must be one of"):
        PointCloudSpec(process="flow", t_sampling="cosine")
    with pytest.raises(ConfigError, match="point_features must be ≥ 0"):
        PointCloudSpec(point_features=-1)
