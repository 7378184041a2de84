"""VoxelCodec layout, the VoxelDiT (windows in alternate blocks, full attention when a window
covers the grid), and the generator's config / checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from random_weights import randomised

from polydit.core.errors import ConfigError
from polydit.core.nn import DiTBlock
from polydit.core.nn.window import WindowDiTBlock
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Cond, Tokens
from polydit.pointcloud.codec import VoxelCodec
from polydit.pointcloud.model import PRESETS, VoxelDiT, voxel_dit_config
from polydit.pointcloud.pipeline import PointCloudGenerator, PointCloudSamples, to_point_clouds
from polydit.pointcloud.voxel import devoxelize, voxelize

CODEC = VoxelCodec(
    num_points=64,
    resolution=8,
    patch=2,
    class_names=("chair", "lamp"),
    class_mean=((0.0, 1.0, 2.0), (0.0, 0.0, 0.0)),
    class_std=(2.0, 0.5),
    data="shapes",
)


def clouds(b: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, CODEC.num_points, 3, generator=torch.Generator().manual_seed(seed))


def test_patch_tokens_are_the_voxel_grid_in_patch_order() -> None:
    points = clouds()
    tokens, coords = CODEC.patchify(points)
    assert tokens.x.shape == (2, 64, 24) and tokens.pos.shape == (2, 64, 3)
    grid = voxelize(points, coords, 8)
    torch.testing.assert_close(CODEC.unpatchify(tokens.x, coords), devoxelize(grid, coords))
    # every voxel's features sit in the token whose position is its patch
    cells = torch.round(coords[0]).long()
    patch = cells // 2
    token = (patch[:, 0] * 4 + patch[:, 1]) * 4 + patch[:, 2]
    assert torch.equal(tokens.pos[0, token], patch.float())
    assert (tokens.x[0, token].abs().sum(-1) > 0).all()
    occupied = torch.zeros(64, dtype=torch.bool)
    occupied[token] = True
    assert (tokens.x[0, ~occupied] == 0).all()


def test_codec_json_round_trip_and_errors() -> None:
    assert VoxelCodec.from_dict(CODEC.to_dict()) == CODEC
    assert VoxelCodec.from_dict(CODEC.to_dict()).class_mean == CODEC.class_mean
    with pytest.raises(ConfigError, match="not a multiple of patch"):
        VoxelCodec(resolution=10, patch=4)
    with pytest.raises(ConfigError, match="one entry per class"):
        VoxelCodec(class_names=("a", "b"), class_std=(1.0,))
    with pytest.raises(ConfigError, match=r"\(B, 64, 3\)"):
        CODEC.encode(torch.zeros(2, 32, 3))


def test_window_attention_sits_in_alternate_blocks_and_the_fresh_model_outputs_zero() -> None:
    config = voxel_dit_config(CODEC, PRESETS["micro"] | {"depth": 4}, 2, window=2)
    model = VoxelDiT(config, CODEC)
    kinds = [type(b) for b in model.blocks]
    assert kinds == [WindowDiTBlock, DiTBlock, WindowDiTBlock, DiTBlock]
    out = model(Tokens(clouds()), torch.rand(2), Cond(labels=torch.tensor([0, 1])))
    assert out.shape == (2, 64, 3) and out.abs().max() == 0  # adaLN-Zero
    with pytest.raises(ConfigError, match="does not tile"):
        VoxelDiT(voxel_dit_config(CODEC, PRESETS["micro"], 2, window=3), CODEC)


def test_a_window_covering_the_grid_gives_the_full_attention_model() -> None:
    windowed = randomised(VoxelDiT(voxel_dit_config(CODEC, PRESETS["micro"], 2, window=4), CODEC))
    full = VoxelDiT(voxel_dit_config(CODEC, PRESETS["micro"], 2), CODEC).eval()
    full.load_state_dict(windowed.state_dict())
    args = (Tokens(clouds()), torch.rand(2), Cond(labels=torch.tensor([1, 0])))
    torch.testing.assert_close(windowed(*args), full(*args), atol=1e-5, rtol=1e-5)
    assert windowed(*args).abs().max() > 1e-3
    smaller = VoxelDiT(voxel_dit_config(CODEC, PRESETS["micro"], 2, window=2), CODEC).eval()
    smaller.load_state_dict(windowed.state_dict())
    assert (smaller(*args) - full(*args)).abs().max() > 1e-4


def generator(seed: int = 0) -> PointCloudGenerator:
    torch.manual_seed(seed)
    model = randomised(VoxelDiT(voxel_dit_config(CODEC, PRESETS["micro"], 2, window=2), CODEC))
    process = build_process(ProcessConfig(kind="gaussian", prediction="eps", schedule="linear"))
    return PointCloudGenerator(model, process, codec=CODEC)


def test_samples_are_seeded_labelled_and_denormalised() -> None:
    gen = generator()
    a = torch.from_numpy(gen.sample(3, label="chair", seed=5, steps=2).points)
    assert a.shape == (3, 64, 3) and torch.isfinite(a).all()
    b = torch.from_numpy(gen.sample(3, label="chair", seed=5, steps=2, normalised=True).points)
    torch.testing.assert_close(a, b * 2.0 + torch.tensor([0.0, 1.0, 2.0]))
    # sample i comes from seed + i alone (up to float32 rounding of another batch size,
    # which x0 = (x - σ ε) / α amplifies near t = 1); another seed differs by O(1)
    alone = torch.from_numpy(gen.sample(1, label=0, seed=6, steps=2).points)
    torch.testing.assert_close(alone, a[1:2], rtol=1e-4, atol=1e-4 * a.abs().max().item())
    other = torch.from_numpy(gen.sample(1, label=0, seed=7, steps=2).points)
    assert (other - alone).abs().max() > 0.1 * a.abs().max()
    with pytest.raises(ConfigError, match="'sofa' is not one of this model's classes"):
        gen.sample(1, label="sofa")
    (cloud,) = to_point_clouds(a[:1])
    assert isinstance(cloud, trimesh.PointCloud) and cloud.vertices.shape == (64, 3)


def test_samples_are_typed_numpy_clouds_equal_to_the_tensor_path() -> None:
    """`sample` returns PointCloudSamples: float32 numpy points (B, N, 3) in the data's units
    and each cloud's class name; the points are exactly what generate → decode → denormalise
    (the tensor the method returned before it was typed) gives for the same seed."""
    gen = generator()
    samples = gen.sample(3, seed=4, steps=2)
    labels = gen.labels_for(3, None, 4)
    assert isinstance(samples, PointCloudSamples) and not samples.normalised
    assert isinstance(samples.points, np.ndarray) and samples.points.dtype == np.float32
    assert samples.points.shape == (3, CODEC.num_points, 3)
    assert samples.labels == tuple(CODEC.class_names[int(k)] for k in labels)
    template = CODEC.template(3)
    x = gen.generate(template, Cond(labels=labels), seed=4, steps=2)
    tensor = CODEC.denormalise(CODEC.decode(x, template), labels)
    assert np.array_equal(samples.points, tensor.numpy())
    normalised = gen.sample(3, seed=4, steps=2, normalised=True)
    assert normalised.normalised and np.array_equal(normalised.points, CODEC.decode(x, template))
    clouds = samples.to_trimesh()
    assert [type(c) for c in clouds] == [trimesh.PointCloud] * 3
    assert np.array_equal(clouds[2].vertices, samples.points[2].astype(np.float64))
    assert np.array_equal(gen(3, seed=4, steps=2).points, samples.points)


def test_a_saved_generator_loads_with_the_same_config_weights_and_samples(tmp_path: Path) -> None:
    gen = generator()
    directory = gen.save_pretrained(tmp_path / "model")
    loaded = PointCloudGenerator.from_pretrained(directory)
    assert loaded.to_config() == gen.to_config()
    assert loaded.codec.class_std == CODEC.class_std and loaded.codec.data == "shapes"
    for key, value in gen.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    assert [type(b) for b in loaded.model.blocks] == [type(b) for b in gen.model.blocks]
    torch.testing.assert_close(
        torch.from_numpy(loaded.sample(2, seed=1, steps=3).points),
        torch.from_numpy(gen.sample(2, seed=1, steps=3).points),
    )
