"""Training-free caches: exactness when they recompute, exact forecasts, per-branch state."""

from __future__ import annotations

import pytest
import torch
from random_weights import randomised
from torch import nn

from polydit.core.accel import (
    CachedDenoiser,
    FirstBlockCache,
    Fora,
    TaylorSeer,
    build_cache,
    newton_extrapolate,
)
from polydit.core.accel.base import BranchState, Usage
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.nn.blocks import BlockInputs
from polydit.core.process import FlowMatching
from polydit.core.sampling import ClassifierFreeGuidance, ModelDenoiser, StepContext, sample
from polydit.core.tokens import Cond, Tokens

SCALE = 0.1  # these tests randomise weights at N(0, 0.1²)


def setup(context: bool = False):
    cfg = DiTConfig.preset(
        "tiny", in_dim=4, pos_axes=1, num_classes=5, context_dim=3 if context else 0
    )
    model = randomised(DiT(cfg), scale=SCALE)
    pos = torch.arange(6.0)[None, :, None].expand(2, 6, 1)
    cond = Cond(labels=torch.tensor([1, 3]), context=torch.randn(2, 2, 3) if context else None)
    noise = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(1))
    return model, pos, cond, noise


def run(denoiser, cond, noise, sampler="euler", scale=2.0):
    return sample(
        ClassifierFreeGuidance(denoiser, scale),
        FlowMatching(),
        noise,
        steps=6,
        sampler=sampler,
        cond=cond,
    )


EVERY_STEP = [
    ("fora", {"interval": 1}),
    ("delta", {"interval": 1}),
    ("taylorseer", {"interval": 1, "order": 2}),
    ("firstblock", {"threshold": 0.0}),
    ("ras", {"interval": 1}),
]


@pytest.mark.parametrize("context", [False, True])
@pytest.mark.parametrize("sampler", ["euler", "heun"])
@pytest.mark.parametrize(("name", "opts"), EVERY_STEP)
def test_a_cache_that_recomputes_every_step_is_the_uncached_sampler(name, opts, sampler, context):
    model, pos, cond, noise = setup(context)
    reference = run(ModelDenoiser(model, pos), cond, noise, sampler)
    cached = CachedDenoiser(model, build_cache(name, opts), pos)
    assert torch.equal(run(cached, cond, noise, sampler), reference)
    assert cached.usage.fraction == 1.0


@pytest.mark.parametrize(
    ("name", "opts"),
    [
        ("fora", {"interval": 2}),
        ("delta", {"interval": 2}),
        ("taylorseer", {"interval": 2, "order": 1}),
        # random weights move the first block's residual by ~100% per step; 1.1 reuses sometimes
        ("firstblock", {"threshold": 1.1}),
        ("ras", {"interval": 2, "ratio": 0.5}),
    ],
)
def test_caches_skip_work_and_stay_close(name, opts):
    model, pos, cond, noise = setup()
    reference = run(ModelDenoiser(model, pos), cond, noise)
    cached = CachedDenoiser(model, build_cache(name, opts), pos)
    out = run(cached, cond, noise)
    assert cached.usage.fraction < 1.0
    assert not torch.equal(out, reference)
    assert (out - reference).norm() < 0.5 * reference.norm()


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_newton_extrapolation_is_exact_up_to_its_degree(order):
    g = torch.Generator().manual_seed(order)
    coeffs = torch.randn(order + 2, 3, generator=g, dtype=torch.float64)
    times = [0.9, 0.75, 0.5, 0.45][: order + 1]

    def poly(t, degree):
        return sum(coeffs[k] * t**k for k in range(degree + 1))

    exact = newton_extrapolate(times, [poly(t, order) for t in times], 0.2)
    torch.testing.assert_close(exact, poly(0.2, order), rtol=1e-10, atol=1e-10)
    higher = newton_extrapolate(times, [poly(t, order + 1) for t in times], 0.2)
    assert not torch.allclose(higher, poly(0.2, order + 1), atol=1e-6)


class PolynomialBlock(nn.Module):
    """A block adding p(t) to its input, with t read from the test's clock."""

    def __init__(self, clock: dict, coeffs: torch.Tensor):
        super().__init__()
        self.clock, self.coeffs = clock, coeffs

    def forward(self, h, inputs):
        t = self.clock["t"]
        return h + sum(c * t**k for k, c in enumerate(self.coeffs))


@pytest.mark.parametrize("order", [1, 2])
def test_taylorseer_forecasts_polynomial_features_exactly(order):
    clock = {}
    coeffs = torch.randn(
        order + 1, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5)
    )
    blocks = nn.ModuleList([PolynomialBlock(clock, coeffs), PolynomialBlock(clock, -2 * coeffs)])
    method, state, usage = (
        TaylorSeer(order=order, interval=100, warmup=order + 1),
        BranchState(),
        Usage(),
    )
    h = torch.zeros(1, 1, 4, dtype=torch.float64)
    inputs = BlockInputs(c=torch.zeros(1, 1, 4))
    for i, t in enumerate([1.0, 0.8, 0.65, 0.5, 0.3, 0.1]):
        clock["t"] = t
        out = method.run(blocks, h, inputs, StepContext(i, 6, t, 0.0), state, usage)
        state.calls += 1
        expected = -sum(c * t**k for k, c in enumerate(coeffs))  # p(t) - 2 p(t)
        torch.testing.assert_close(out[0, 0], expected, rtol=1e-9, atol=1e-9)
    assert usage.computed == 2 * (order + 1)  # everything after warm-up was forecast


def test_cfg_with_a_cache_equals_caching_each_branch_alone():
    model, pos, cond, noise = setup()
    shared = CachedDenoiser(model, Fora(interval=2), pos)
    together = run(shared, cond, noise, scale=3.0)
    cond_cache, uncond_cache = (
        CachedDenoiser(model, Fora(interval=2), pos),
        CachedDenoiser(model, Fora(interval=2), pos),
    )

    def separate(x, t, c, ctx):
        own = uncond_cache if c.dropped is not None else cond_cache
        return own(x, t, c, ctx)

    alone = run(separate, cond, noise, scale=3.0)
    assert torch.equal(together, alone)
    assert set(shared.states) == {"cond", "uncond"}


def test_first_block_cache_reuses_only_when_the_first_block_barely_changes():
    model, pos, cond, noise = setup()
    loose = CachedDenoiser(model, FirstBlockCache(threshold=10.0), pos)
    run(loose, cond, noise)
    blocks = len(model.blocks)
    # everything after each branch's first evaluation reuses: 1 of `blocks` blocks computed
    assert loose.usage.computed == 2 * blocks + 2 * 5 * 1


def test_ras_recomputing_every_token_matches_full_computation():
    """Partial evaluations with ratio 1 recompute every token from cached keys/values: the same
    numbers as full evaluations, up to float summation order."""
    model, pos, cond, noise = setup()
    reference = run(ModelDenoiser(model, pos), cond, noise)
    cached = CachedDenoiser(model, build_cache("ras", {"interval": 3, "ratio": 1.0}), pos)
    torch.testing.assert_close(run(cached, cond, noise), reference, atol=1e-5, rtol=1e-5)
    half = CachedDenoiser(model, build_cache("ras", {"interval": 3, "ratio": 0.5}), pos)
    run(half, cond, noise)
    assert half.usage.fraction < cached.usage.fraction == 1.0


def test_options_are_validated():
    assert build_cache("taylorseer", {"interval": "3", "order": "2"}) == TaylorSeer(
        order=2, interval=3
    )
    assert build_cache("none") is None
    with pytest.raises(ConfigError, match="unknown cache"):
        build_cache("teacache")
    with pytest.raises(ConfigError, match="not an option of fora"):
        build_cache("fora", {"order": "2"})
    with pytest.raises(ConfigError, match="expected int"):
        build_cache("fora", {"interval": "two"})
    with pytest.raises(ConfigError, match="positive"):
        build_cache("fora", {"interval": "0"})


@pytest.mark.parametrize(("order", "interval", "warmup"), [(1, 3, 2), (2, 4, 3), (2, 3, 4)])
def test_taylorseer_under_heun_survives_repeated_times(order, interval, warmup):
    # Heun evaluates t_{i+1} twice (corrector of step i, predictor of step i+1); two history
    # entries at one time would divide by zero in the divided differences
    model, pos, cond, noise = setup()
    reference = run(ModelDenoiser(model, pos), cond, noise, "heun")
    method = TaylorSeer(order=order, interval=interval, warmup=warmup)
    cached = CachedDenoiser(model, method, pos)
    out = run(cached, cond, noise, "heun")
    assert torch.isfinite(out).all() and cached.usage.fraction < 1.0
    assert (out - reference).norm() < 0.5 * reference.norm()


def test_expert_cache_equals_the_routed_moe_and_reuses_routes():
    from polydit.core.accel import ExpertCache
    from polydit.core.nn import MoEConfig

    moe = MoEConfig(num_experts=4, top_k=2, router="noise")
    config = DiTConfig.preset("tiny", in_dim=8, pos_embed="none", moe=moe)
    model = randomised(DiT(config), scale=SCALE).eval()
    x = torch.randn(3, 5, 8)
    same_t, mixed_t = torch.full((3,), 0.3), torch.tensor([0.1, 0.5, 0.9])
    with torch.no_grad():
        routed = model(Tokens(x), same_t), model(Tokens(x), mixed_t)
        with ExpertCache(model) as cache:
            cached = model(Tokens(x), same_t), model(Tokens(x), mixed_t)
            assert (cache.misses, cache.hits) == (len(cache.layers), 0)
            model(Tokens(x), same_t)  # the same conditioning again: every route is reused
            assert cache.hits == len(cache.layers) == model.config.depth
        after = model(Tokens(x), same_t)  # leaving the context restores the routed forward
    torch.testing.assert_close(cached[0], routed[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cached[1], routed[1])  # rows differ in t: the routed path
    torch.testing.assert_close(after, routed[0])
    assert not any("forward" in vars(layer) for layer in cache.layers)
