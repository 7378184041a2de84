"""The DiT and its blocks: adaLN-Zero, RoPE, masks, conditioning, MoE, configs."""

from __future__ import annotations

import pytest
import torch
from random_weights import randomised

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.nn import BlockInputs, DiTBlock, MoEConfig
from polydit.core.process import FlowMatching, ProcessConfig
from polydit.core.sampling import ClassifierFreeGuidance, ModelDenoiser, StepContext
from polydit.core.tokens import Cond, Tokens


def tokens(b=2, n=6, c=8, axes=2, seed=0) -> Tokens:
    g = torch.Generator().manual_seed(seed)
    return Tokens(
        torch.randn(b, n, c, generator=g), torch.randint(0, 8, (b, n, axes), generator=g).float()
    )


def test_fresh_block_is_identity_and_fresh_dit_outputs_zero():
    block = DiTBlock(32, 4)
    x = torch.randn(2, 5, 32)
    assert torch.equal(block(x, BlockInputs(c=torch.randn(2, 1, 32))), x)
    model = DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, num_classes=3, context_dim=4))
    out = model(
        tokens(), torch.rand(2), Cond(labels=torch.tensor([0, 2]), context=torch.randn(2, 3, 4))
    )
    assert torch.equal(out, torch.zeros_like(out))


def test_a_trained_like_block_is_not_identity():
    block = randomised(DiTBlock(32, 4))
    x = torch.randn(2, 5, 32)
    assert not torch.allclose(block(x, BlockInputs(c=torch.randn(2, 1, 32))), x)


def test_rope_depends_only_on_relative_positions():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2))).double()
    tok, t = tokens(), torch.rand(2, dtype=torch.float64)
    tok = Tokens(tok.x.double(), tok.pos.double())
    out = model(tok, t)
    shifted = model(Tokens(tok.x, tok.pos + torch.tensor([3.0, -5.0], dtype=torch.float64)), t)
    torch.testing.assert_close(shifted, out)
    scaled = model(Tokens(tok.x, tok.pos * 2), t)
    assert (scaled - out).abs().max() > 1e-2


def test_set_model_is_permutation_equivariant():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_embed="none"))).double()
    x, t = torch.randn(2, 7, 8, dtype=torch.float64), torch.rand(2, dtype=torch.float64)
    perm = torch.randperm(7)
    torch.testing.assert_close(model(Tokens(x[:, perm]), t), model(Tokens(x), t)[:, perm])


@pytest.mark.parametrize("context", [False, True])
def test_padding_never_changes_real_tokens(context):
    cfg = DiTConfig.preset("tiny", in_dim=8, pos_axes=2, context_dim=4 if context else 0)
    model = randomised(DiT(cfg))
    tok, t = tokens(n=6), torch.rand(2)
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    cond = (
        Cond(context=torch.randn(2, 3, 4), context_mask=torch.tensor([[True, True, False]] * 2))
        if context
        else None
    )
    out = model(Tokens(tok.x, tok.pos, mask), t, cond)
    x2 = tok.x.clone()
    x2[0, 4:] = 100 * torch.randn(2, 8)
    if context:
        cond.context[:, 2] = 100.0  # a padded context token
    out2 = model(Tokens(x2, tok.pos, mask), t, cond)
    assert torch.equal(out[mask], out2[mask])
    # ...and the test would notice a leak: unmasked, the same change moves real tokens
    out3 = model(Tokens(x2, tok.pos), t, cond)
    assert not torch.allclose(out3[0, :4], out[0, :4], atol=1e-3)


def test_cfg_changes_every_channel():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, num_classes=10)))
    tok = tokens()
    den = ModelDenoiser(model, tok.pos)
    cond, ctx, t = (
        Cond(labels=torch.tensor([3, 7])),
        StepContext(0, 1, 0.5, 0.0),
        torch.full((2,), 0.5),
    )
    plain = ClassifierFreeGuidance(den, 1.0)(tok.x, t, cond, ctx)
    guided = ClassifierFreeGuidance(den, 4.0)(tok.x, t, cond, ctx)
    changed = (guided - plain).abs().amax(dim=(0, 1))  # per channel
    assert bool((changed > 1e-4).all()), changed


def test_null_label_equals_dropped_and_missing_labels():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, num_classes=10)))
    tok, t = tokens(), torch.rand(2)
    dropped = model(tok, t, Cond(labels=torch.tensor([3, 7])).unconditional())
    torch.testing.assert_close(model(tok, t, Cond(labels=torch.tensor([10, 10]))), dropped)
    torch.testing.assert_close(model(tok, t), dropped)
    assert not torch.allclose(model(tok, t, Cond(labels=torch.tensor([3, 7]))), dropped)


def test_dropped_context_ignores_context_contents():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, context_dim=4)))
    tok, t = tokens(), torch.rand(2)
    a = model(tok, t, Cond(context=torch.randn(2, 3, 4)).unconditional())
    b = model(tok, t, Cond(context=torch.randn(2, 3, 4)).unconditional())
    torch.testing.assert_close(a, b)
    c = model(tok, t, Cond(context=torch.randn(2, 3, 4)))
    assert not torch.allclose(a, c, atol=1e-3)


def test_given_tokens_see_time_zero():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2))).double()
    tok, t = tokens(), torch.rand(2, dtype=torch.float64)
    tok = Tokens(tok.x.double(), tok.pos)
    all_given = model(tok, t, Cond(given=torch.ones(2, 6, dtype=torch.bool)))
    torch.testing.assert_close(all_given, model(tok, torch.zeros(2, dtype=torch.float64)))
    some = torch.tensor([[True, False, True, False, False, False]] * 2)
    mixed = model(tok, t, Cond(given=some))
    assert not torch.allclose(mixed, model(tok, t), atol=1e-4)


def test_attention_bias_changes_output_and_zero_bias_does_not():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2)))
    tok, t = tokens(), torch.rand(2)
    zero = torch.zeros(2, 4, 6, 6)
    torch.testing.assert_close(model(tok, t, bias=zero), model(tok, t))
    assert not torch.allclose(model(tok, t, bias=torch.randn(2, 4, 6, 6)), model(tok, t), atol=1e-3)


@pytest.mark.parametrize("router", ["token", "noise"])
def test_moe_balance_loss_and_gradients(router):
    cfg = DiTConfig.preset(
        "tiny", in_dim=8, pos_axes=2, moe=MoEConfig(num_experts=4, top_k=2, router=router)
    )
    model = randomised(DiT(cfg)).train()
    out = model(tokens(), torch.rand(2))
    aux = model.aux_loss()
    assert aux.item() > 0
    (out.pow(2).mean() + aux).backward()
    router_grads = [b.mlp.router.weight.grad for b in model.blocks]
    assert all(g is not None and g.abs().sum() > 0 for g in router_grads)


def test_noise_router_picks_the_same_experts_for_every_token():
    from polydit.core.nn import MoEMLP

    moe = randomised(
        MoEMLP(16, 32, MoEConfig(num_experts=4, top_k=1, shared_expert=False, router="noise"))
    )
    x = torch.randn(1, 5, 16)
    out = moe(x, torch.randn(1, 1, 16))
    # one expert for the whole sample: the output is that expert applied token-wise
    chosen = [e for e in moe.experts if torch.allclose(e(x), out, atol=1e-6)]
    assert len(chosen) == 1


def test_configs_round_trip_through_json():
    import json

    cfg = DiTConfig.preset(
        "S", in_dim=4, num_classes=10, moe=MoEConfig(num_experts=8, router="noise")
    )
    assert DiTConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    pc = ProcessConfig(kind="gaussian", prediction="v", schedule="cosine")
    assert ProcessConfig.from_dict(json.loads(json.dumps(pc.to_dict()))) == pc


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="preset"):
        DiTConfig.preset("huge", in_dim=4)
    with pytest.raises(ConfigError, match="pos_embed"):
        DiTConfig(in_dim=4, pos_embed="learned")
    with pytest.raises(ConfigError, match=r"unknown field.*depthh"):
        DiTConfig.from_dict({"in_dim": 4, "depthh": 3})
    with pytest.raises(ConfigError, match="prediction"):
        ProcessConfig(prediction="score")
    model = DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2))
    with pytest.raises(ConfigError, match="in_dim=8"):
        model(Tokens(torch.randn(1, 3, 5), torch.zeros(1, 3, 2)), torch.rand(1))
    with pytest.raises(ConfigError, match="num_classes=0"):
        model(tokens(), torch.rand(2), Cond(labels=torch.tensor([1, 2])))


def test_training_loss_ignores_padding_and_given_tokens():
    process = FlowMatching(ProcessConfig(prediction="velocity"))
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2)))
    tok = tokens()
    mask = torch.tensor([[True] * 4 + [False] * 2] * 2)
    given = torch.tensor([[True] + [False] * 5] * 2)

    def loss(x):
        g = torch.Generator().manual_seed(0)
        return process.training_loss(model, Tokens(x, tok.pos, mask), Cond(given=given), g)

    x2 = tok.x.clone()
    x2[:, 4:] += 50.0  # padding
    torch.testing.assert_close(loss(x2), loss(tok.x))
    x3 = tok.x.clone()
    x3[:, 1] += 5.0  # a generated token
    assert not torch.allclose(loss(x3), loss(tok.x))


def test_training_loss_uses_the_noise_it_is_given():
    process = FlowMatching(ProcessConfig(prediction="velocity"))
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2)))
    tok = tokens()

    def loss(noise=None):
        g = torch.Generator().manual_seed(0)
        return process.training_loss(model, tok, None, g, noise=noise)

    g = torch.Generator().manual_seed(0)
    process.sample_t(tok.x.shape[0], g)
    drawn = torch.randn(tok.x.shape, generator=g)  # the draw training_loss makes itself
    torch.testing.assert_close(loss(drawn), loss())
    assert not torch.allclose(loss(torch.zeros_like(tok.x)), loss())
    with pytest.raises(ValueError, match="noise has shape"):
        loss(torch.zeros(1, 2, 3))


def test_missing_vector_is_the_null_vector():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, vector_dim=3)))
    tok, t = tokens(), torch.rand(2)
    vec = Cond(vector=torch.randn(2, 3))
    torch.testing.assert_close(model(tok, t), model(tok, t, vec.unconditional()))
    assert not torch.allclose(model(tok, t), model(tok, t, vec))


def test_self_conditioning_starts_as_the_plain_dit_and_reads_the_estimate():
    plain = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2)))
    model = DiT(plain.config.replace(self_condition=True)).eval()
    missing = model.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["self_embed.bias", "self_embed.weight"]
    tok, t = tokens(), torch.rand(2)
    estimate = Cond(self_cond=torch.randn(2, 6, 8))
    torch.testing.assert_close(model(tok, t, estimate), plain(tok, t))  # zero-initialised
    model = randomised(model)
    zeros = Cond(self_cond=torch.zeros(2, 6, 8))
    torch.testing.assert_close(model(tok, t), model(tok, t, zeros))
    assert not torch.allclose(model(tok, t), model(tok, t, estimate))
    with pytest.raises(ConfigError, match="self_condition"):
        plain(tok, t, estimate)


def test_training_loss_time_weight_scales_each_sample():
    process = FlowMatching(ProcessConfig(prediction="velocity"))
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2)))
    tok = tokens()

    def loss(**kwargs):
        return process.training_loss(model, tok, None, torch.Generator().manual_seed(0), **kwargs)

    torch.testing.assert_close(loss(time_weight=lambda t: torch.full_like(t, 3.0)), 3 * loss())
    first_only = loss(time_weight=lambda t: torch.tensor([1.0, 0.0]))
    second_only = loss(time_weight=lambda t: torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(first_only + second_only, loss())
    assert not torch.allclose(first_only, second_only)


def test_masked_mse_channel_weight_is_a_weighted_mean_over_channels():
    from polydit.core.process.base import masked_mse

    out, target = torch.zeros(2, 3, 4), torch.arange(24.0).reshape(2, 3, 4)
    sq = target.pow(2)
    torch.testing.assert_close(masked_mse(out, target, None, channel_weight=torch.ones(4)),
                               masked_mse(out, target, None))  # fmt: skip
    first_two = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])  # per sample (B, C)
    expected = torch.cat([sq[0, :, :2].mean(-1), sq[1, :, 3]]).mean()
    torch.testing.assert_close(masked_mse(out, target, None, channel_weight=first_two), expected)
    mask = torch.tensor([[True, False, False], [True, True, True]])
    expected = torch.cat([sq[0, :1, :2].mean(-1), sq[1, :, 3]]).mean()
    torch.testing.assert_close(masked_mse(out, target, mask, channel_weight=first_two), expected)


def test_training_loss_self_conditioning_pass():
    """p = 1 feeds the first pass's estimate to the second; with the zero-initialised embedding
    that changes nothing (same t and noise), with a trained one it does."""
    process = FlowMatching(ProcessConfig(prediction="velocity"))
    model = DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, self_condition=True))
    model.load_state_dict(randomised(DiT(model.config)).state_dict())
    with torch.no_grad():
        model.self_embed.weight.zero_()
        model.self_embed.bias.zero_()
    tok = tokens()

    def loss(p):
        return process.training_loss(
            model, tok, None, torch.Generator().manual_seed(0), self_condition=p
        )

    torch.testing.assert_close(loss(1.0), loss(0.0))
    with torch.no_grad():
        model.self_embed.weight.normal_(0, 0.5)
    assert not torch.allclose(loss(1.0), loss(0.0))


def _halves_bias(m: int, n: int) -> torch.Tensor:
    """(L, L) joint bias over [ctx A (m); ctx B (m); tokens A (n); tokens B (n)]: each half
    attends only to itself and its own context."""
    group = torch.tensor([0] * m + [1] * m + [0] * n + [1] * n)
    same = group[:, None] == group[None, :]
    return torch.zeros(same.shape).masked_fill(~same, float("-inf"))


def test_joint_bias_of_two_halves_equals_two_separate_calls():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, context_dim=4)))
    m, n = 3, 5
    tok, t = tokens(n=2 * n), torch.rand(2)
    ctx = torch.randn(2, 2 * m, 4)
    bias = _halves_bias(m, n).expand(2, -1, -1)
    joint = model(tok, t, Cond(context=ctx, joint_bias=bias))
    for half in range(2):
        part = Tokens(tok.x[:, half * n : (half + 1) * n], tok.pos[:, half * n : (half + 1) * n])
        alone = model(part, t, Cond(context=ctx[:, half * m : (half + 1) * m]))
        torch.testing.assert_close(joint[:, half * n : (half + 1) * n], alone, atol=1e-3, rtol=1e-3)
    whole = model(tok, t, Cond(context=ctx))
    assert not torch.allclose(joint, whole, atol=0.05)  # the bias really restricts attention
    zeros = model(
        tok, t, Cond(context=ctx, joint_bias=torch.zeros(2, 2 * m + 2 * n, 2 * m + 2 * n))
    )
    torch.testing.assert_close(zeros, whole)
    with pytest.raises(ConfigError, match="joint_bias"):
        model(tok, t, Cond(context=ctx, joint_bias=torch.zeros(2, 4, 4)))


def test_joint_bias_keeps_the_null_context_and_composes_with_it():
    model = randomised(DiT(DiTConfig.preset("tiny", in_dim=8, pos_axes=2, context_dim=4)))
    m, n = 3, 5
    tok, t = tokens(n=2 * n), torch.rand(2)
    cond = Cond(context=torch.randn(2, 2 * m, 4), joint_bias=_halves_bias(m, n).expand(2, -1, -1))
    null = model(tok, t, cond.unconditional())
    no_context = model(tok, t, Cond(context=torch.randn(2, 2 * m, 4)).unconditional())
    assert torch.isfinite(null).all() and not torch.allclose(null, no_context, atol=0.05)
    for half in range(2):  # dropped: each half attends to its own tokens only
        part = Tokens(tok.x[:, half * n : (half + 1) * n], tok.pos[:, half * n : (half + 1) * n])
        alone = model(part, t, Cond(context=torch.zeros(2, m, 4)).unconditional())
        torch.testing.assert_close(null[:, half * n : (half + 1) * n], alone, atol=1e-3, rtol=1e-3)
