"""diffusers' DiTTransformer2DModel ported into our DiT computes the same function."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")

from polydit.bench import diffusers_port as dp
from polydit.core.nn import sincos_embedding


@pytest.fixture(scope="module")
def models() -> tuple[torch.nn.Module, torch.nn.Module]:
    theirs = dp.build_diffusers_dit(dp.TINY, seed=0)
    return theirs, dp.ported_dit(theirs)


def test_tiny_port_matches(models: tuple[torch.nn.Module, torch.nn.Module]) -> None:
    theirs, ours = models
    latents, timesteps, labels = dp.random_inputs(dp.TINY, batch=8, seed=1)
    with torch.no_grad():
        ref = theirs(latents, timestep=timesteps, class_labels=labels).sample
        out = dp.our_forward(ours, latents, timesteps, labels)
    assert out.shape == ref.shape == (8, dp.TINY.out_channels, 8, 8)
    assert ref.abs().max() > 0.1  # randomised adaLN/output layers: not a trivial all-zero output
    assert (out - ref).abs().max().item() <= 1e-5


def test_null_class_and_gradients_match(models: tuple[torch.nn.Module, torch.nn.Module]) -> None:
    theirs, ours = models
    latents, timesteps, _ = dp.random_inputs(dp.TINY, batch=4, seed=2)
    null = torch.full((4,), dp.TINY.num_classes)
    a = latents.clone().requires_grad_()
    b = latents.clone().requires_grad_()
    theirs(a, timestep=timesteps, class_labels=null).sample.square().sum().backward()
    dp.our_forward(ours, b, timesteps, null).square().sum().backward()
    assert (a.grad - b.grad).abs().max().item() <= 1e-4 * a.grad.abs().max().item()


def test_positions_follow_diffusers_grid(models: tuple[torch.nn.Module, torch.nn.Module]) -> None:
    theirs, _ = models
    g = dp.TINY.grid
    ours = sincos_embedding(dp.patch_positions(g, g, 1), dp.TINY.hidden)
    assert torch.allclose(ours, theirs.pos_embed.pos_embed, atol=1e-6)


def test_patchify_round_trip() -> None:
    x = torch.randn(2, 4, 8, 8)
    tokens = dp.patchify(x, 2)
    assert tokens.x.shape == (2, 16, 16) and tokens.pos.shape == (2, 16, 2)
    assert torch.equal(dp.unpatchify(tokens.x, 2, 8, 8), x)


def test_untied_embedders_are_refused() -> None:
    theirs = dp.build_diffusers_dit(dp.TINY, seed=3)
    with torch.no_grad():
        theirs.transformer_blocks[1].norm1.emb.class_embedder.embedding_table.weight.add_(1.0)
    with pytest.raises(ValueError, match="own timestep/label embedder"):
        dp.ported_dit(theirs)
