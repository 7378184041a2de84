"""Elastic DiT routers: exactness at full compute, forced skips and widths, training, the file."""

from __future__ import annotations

import re

import pytest
import torch
from random_weights import randomised
from safetensors.torch import save_file

from polydit.core.accel import CachedDenoiser, build_cache
from polydit.core.accel import features as F
from polydit.core.accel.base import BranchState, Usage
from polydit.core.accel.elastic import (
    ElasticCache,
    ElasticConfig,
    ElasticRouters,
    _masked_block,
    _routed_block,
    compute,
    narrow_mlp,
    train_routers,
    width_fractions,
    width_units,
)
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.process import FlowMatching
from polydit.core.sampling import ClassifierFreeGuidance, ModelDenoiser, StepContext, sample
from polydit.core.tokens import Cond, Tokens

WIDTHS = (0.25, 0.5, 0.75, 1.0)


def setup(context: bool = False):
    cfg = DiTConfig.preset(
        "tiny", in_dim=4, pos_axes=1, num_classes=5, context_dim=3 if context else 0
    )
    model = randomised(DiT(cfg), scale=0.1)
    pos = torch.arange(6.0)[None, :, None].expand(2, 6, 1)
    cond = Cond(labels=torch.tensor([1, 3]), context=torch.randn(2, 2, 3) if context else None)
    noise = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(1))
    return model, pos, cond, noise


def forced(model: DiT, skip: set[int] = frozenset(), width: int = len(WIDTHS) - 1):
    """Routers that ignore their inputs: blocks in `skip` never run, the others run at
    width index `width`."""
    routers = ElasticRouters.for_model(model, ElasticConfig(widths=WIDTHS))
    with torch.no_grad():
        for i, router in enumerate(routers.routers):
            out = router.net[2]
            out.weight.zero_()
            out.bias.fill_(-30.0)
            out.bias[0] = -30.0 if i in skip else 30.0
            out.bias[1 + width] = 30.0
    return routers


def run(denoiser, cond, noise, sampler="euler"):
    return sample(
        ClassifierFreeGuidance(denoiser, 2.0),
        FlowMatching(),
        noise,
        steps=6,
        sampler=sampler,
        cond=cond,
    )


@pytest.mark.parametrize("context", [False, True])
@pytest.mark.parametrize("sampler", ["euler", "heun"])
@pytest.mark.parametrize("skip", ["identity", "cache"])
def test_routers_that_always_run_at_full_width_are_the_uncached_sampler(skip, sampler, context):
    model, pos, cond, noise = setup(context)
    reference = run(ModelDenoiser(model, pos), cond, noise, sampler)
    cached = CachedDenoiser(model, ElasticCache(routers=forced(model), skip=skip), pos)
    assert torch.equal(run(cached, cond, noise, sampler), reference)
    assert cached.usage.fraction == 1.0


def evaluate(model, method, x, t, cond, pos, state):
    """One evaluation of the blocks through `method`, and the prepared inputs."""
    h, inputs = model.prepare(Tokens(x, pos), t, cond)
    out = method.run(model.blocks, h, inputs, StepContext(0, 1, 0.5, 0.4), state, Usage())
    state.calls += 1
    return out, h, inputs


@pytest.mark.parametrize("k", [0, 2])
def test_a_forced_skip_drops_the_blocks_residual_or_reuses_its_last_features(k):
    model, pos, cond, x = setup()
    t1, t2 = torch.full((2,), 0.8), torch.full((2,), 0.6)
    x2 = x * 0.9 + 0.05

    dropped = ElasticCache(routers=forced(model, {k}), skip="identity")
    out, h, inputs = evaluate(model, dropped, x, t1, cond, pos, BranchState())
    expected = h
    for i, block in enumerate(model.blocks):
        expected = expected if i == k else block(expected, inputs)
    assert torch.equal(out, expected)

    reused = ElasticCache(routers=forced(model, {k}), skip="cache")
    state = BranchState()
    out1, h, inputs = evaluate(model, reused, x, t1, cond, pos, state)
    feats = None
    for i, block in enumerate(model.blocks):  # the first evaluation runs every block
        h, f = F.compute(block, h, inputs)
        feats = f if i == k else feats
    assert torch.equal(out1, h)
    out2, h, inputs = evaluate(model, reused, x2, t2, cond, pos, state)
    for i, block in enumerate(model.blocks):
        h = F.reuse(block, h, inputs, feats) if i == k else block(h, inputs)
    assert torch.equal(out2, h)
    assert not torch.allclose(out2, evaluate(model, dropped, x2, t2, cond, pos, BranchState())[0])


def test_width_one_is_the_full_mlp_and_a_ratio_is_a_slice_of_it():
    model, pos, cond, x = setup()
    h, inputs = model.prepare(Tokens(x, pos), torch.full((2,), 0.5), cond)
    block = model.blocks[1]
    units = width_units(block, WIDTHS)
    assert units == [128, 256, 384, None]  # tiny: hidden 128, MLP 512
    assert torch.equal(compute(block, h, inputs, None)[0], block(h, inputs))

    z = torch.randn(2, 6, 128)
    mlp, k = block.mlp, 256
    fc1, fc2 = torch.nn.Linear(128, k), torch.nn.Linear(k, 128)
    with torch.no_grad():
        fc1.weight.copy_(mlp.fc1.weight[:k])
        fc1.bias.copy_(mlp.fc1.bias[:k])
        fc2.weight.copy_(mlp.fc2.weight[:, :k])
        fc2.bias.copy_(mlp.fc2.bias)
    manual = fc2(torch.nn.functional.gelu(fc1(z), approximate="tanh"))
    torch.testing.assert_close(narrow_mlp(mlp, z, k), manual, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(narrow_mlp(mlp, z, k), mlp(z), atol=1e-3)

    # the training's masked pass at a 0/1 prefix mask is the sliced block (up to summation order)
    keep = (torch.arange(512) < k).float().expand(2, 1, 512)
    torch.testing.assert_close(
        _masked_block(block, h, inputs, keep), compute(block, h, inputs, k)[0], atol=1e-5, rtol=1e-5
    )


def test_usage_counts_a_narrow_block_as_its_fraction_and_a_skipped_one_as_nothing():
    model, pos, cond, x = setup()
    t = torch.full((2,), 0.5)
    usage = Usage()
    h, inputs = model.prepare(Tokens(x, pos), t, cond)
    ElasticCache(routers=forced(model, width=1)).run(
        model.blocks, h, inputs, StepContext(0, 1, 0.5, 0.4), BranchState(), usage
    )
    half = float(width_fractions(model.blocks[0], WIDTHS, 6)[1])
    assert 0.3 < half < 0.7
    assert usage.fraction == pytest.approx(half)
    usage = Usage()
    ElasticCache(routers=forced(model, {0, 3}), skip="identity").run(
        model.blocks, h, inputs, StepContext(0, 1, 0.5, 0.4), BranchState(), usage
    )
    assert usage.fraction == pytest.approx(0.5)


def test_rows_with_different_decisions_run_separately_and_skipped_rows_keep_their_input():
    model, pos, _, x = setup()
    cond = Cond(labels=torch.tensor([0, 1, 2, 3]))
    x = torch.cat([x, x.flip(1)])
    h, inputs = model.prepare(Tokens(x, pos[:1].expand(4, 6, 1)), torch.rand(4), cond)
    block = model.blocks[0]
    units = width_units(block, WIDTHS)
    run = torch.tensor([True, False, True, True])
    width = torch.tensor([1, 0, 3, 1])
    out, kept = _routed_block(block, h, inputs, run, width, units, None, keep=False)
    assert kept is None
    assert torch.equal(out[1], h[1])
    for row in (0, 2, 3):
        alone = compute(block, h[row : row + 1], _inputs_row(inputs, row), units[width[row]])[0]
        torch.testing.assert_close(out[row : row + 1], alone, atol=1e-5, rtol=1e-5)

    # with features kept: the skipped row reuses its cached ones, the others get fresh ones
    cached = tuple(torch.randn_like(h) for _ in range(2))
    out, kept = _routed_block(block, h, inputs, run, width, units, cached, keep=True)
    assert torch.equal(out[1], F.reuse(block, h, inputs, cached)[1])
    assert all(torch.equal(k[1], c[1]) for k, c in zip(kept, cached, strict=True))
    for row in (0, 2, 3):
        fresh = compute(block, h[row : row + 1], _inputs_row(inputs, row), units[width[row]])[1]
        for k, f in zip(kept, fresh, strict=True):
            torch.testing.assert_close(k[row : row + 1], f, atol=1e-5, rtol=1e-5)
    # every row running at different widths without a cache still keeps every row's features
    _, kept = _routed_block(block, h, inputs, torch.ones(4, dtype=bool), width, units, None, True)
    assert all(bool(k.abs().sum(-1).gt(0).all()) for k in kept)


def _inputs_row(inputs, row):
    from polydit.core.accel.elastic import _rows

    return _rows(inputs, torch.tensor([row]), inputs.c.shape[0])


class TokenBatches:
    """Endless (Tokens, Cond) batches of random data for the tiny DiT."""

    def __init__(self, seed: int = 0):
        self.g = torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            x = torch.randn(8, 6, 4, generator=self.g)
            labels = torch.randint(0, 5, (8,), generator=self.g)
            yield Tokens(x, torch.arange(6.0)[None, :, None].expand(8, 6, 1)), Cond(labels=labels)


class Process:
    """The pipeline parts train_routers uses: the model, its device and its process."""

    def __init__(self, model):
        self.model, self.process, self.device = model, FlowMatching(), torch.device("cpu")


@pytest.mark.parametrize("skip", ["identity", "cache"])
def test_training_moves_expected_compute_to_the_budget_and_only_routers_change(skip):
    model, *_ = setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = ElasticConfig(budget=0.4, lr=0.03, penalty=20.0, skip=skip)
    result = train_routers(Process(model), TokenBatches(), config, steps=40)
    first, last = result.history[0]["compute"], result.history[-1]["compute"]
    assert first > 0.8  # fresh routers run (nearly) everything
    assert abs(last - config.budget) < 0.5 * abs(first - config.budget)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())  # restored after training
    fresh = ElasticRouters.for_model(model, config)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            result.routers.state_dict().values(), fresh.state_dict().values(), strict=True
        )
    )


def test_the_router_file_round_trips_and_bad_files_are_named(tmp_path):
    model, pos, cond, noise = setup()
    routers = forced(model, {1}, width=2)
    path = routers.save(tmp_path / "r.safetensors")
    loaded = ElasticRouters.load(path)
    assert loaded.config == routers.config and (loaded.dim, loaded.depth) == (128, 4)
    for (k, a), b in zip(routers.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    a = run(CachedDenoiser(model, ElasticCache(routers=routers), pos), cond, noise)
    b = run(CachedDenoiser(model, build_cache("elastic", {"routers": str(path)}), pos), cond, noise)
    assert torch.equal(a, b)
    assert not list(tmp_path.glob(".tmp-*"))

    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(CheckpointError, match=r"junk\.safetensors"):
        ElasticRouters.load(tmp_path / "junk.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a router file"):
        ElasticRouters.load(tmp_path / "other.safetensors")


@pytest.mark.parametrize(
    ("opts", "named"),
    [
        ({}, "routers=PATH"),
        ({"routers": "missing.safetensors"}, "routers=missing.safetensors"),
        ({"threshold": "high"}, "threshold"),
        ({"threshold": "1.5", "routers": "x"}, "threshold=1.5"),
        ({"skip": "sometimes", "routers": "x"}, "skip='sometimes'"),
        ({"interval": "2"}, "interval: not an option of elastic"),
    ],
)
def test_bad_cache_options_name_the_option(opts, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        build_cache("elastic", opts)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget", 0.0),
        ("widths", (0.5, 0.25, 1.0)),
        ("widths", (0.5,)),
        ("threshold", 1.0),
        ("skip", "never"),
        ("reuse_gap", -0.1),
    ],
)
def test_bad_configs_name_the_field(field, value):
    with pytest.raises(ConfigError, match=f"ElasticConfig.{field}"):
        ElasticConfig(**{field: value})


def test_routers_for_another_model_are_refused():
    model, pos, cond, noise = setup()
    other = DiT(DiTConfig.preset("tiny", in_dim=4, pos_axes=1, num_classes=5, depth=3))
    cached = CachedDenoiser(model, ElasticCache(routers=forced(other)), pos)
    with pytest.raises(ConfigError, match="routers for 3 blocks"):
        run(cached, cond, noise)


def test_train_router_trains_any_domains_model_from_its_recipe(tmp_path):
    from example_domain.cli import RingDomain
    from example_domain.ring import RECIPE, RingTrainSpec
    from typer.testing import CliRunner

    from polydit.core.cli import make_cli

    spec = RingTrainSpec()
    pipeline = RECIPE.build(spec, RECIPE.data(spec, None, {}).dataset, 0)
    randomised(pipeline.model, scale=0.1)
    pipeline.save_pretrained(tmp_path / "pretrained" / "tiny")
    before = pipeline.model.state_dict()
    app = make_cli(RingDomain(tmp_path / "pretrained"))

    def invoke(*args: object):
        return CliRunner().invoke(app, [str(a) for a in args])

    out = tmp_path / "routers" / "tiny.safetensors"
    done = invoke("train-router", "--out", out, "--steps", 6, "--budget", 0.5)
    assert done.exit_code == 0, done.output
    assert "step 6/6" in done.output and f"saved {out}" in done.output
    routers = ElasticRouters.load(out)
    assert routers.config.budget == 0.5 and routers.depth == spec.depth
    reloaded = type(pipeline).from_pretrained(tmp_path / "pretrained" / "tiny")
    assert all(torch.equal(v, before[k]) for k, v in reloaded.model.state_dict().items())

    samples = tmp_path / "samples"
    done = invoke("sample", "--num", 4, "--out", samples, "--cache", "elastic", "--cache-opts",
                  f"routers={out}")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert len(list(samples.glob("*.npy"))) == 4
    reloaded.sample(4, cache="elastic", cache_opts={"routers": str(out)})
    assert 0 < reloaded.last_usage.fraction <= 1

    bad = invoke("train-router", "--out", out, "--budget", 0)
    assert bad.exit_code == 2 and "--budget" in bad.output


def test_a_cached_block_runs_again_once_its_features_are_max_age_evaluations_old():
    model, pos, cond, x = setup()
    method = ElasticCache(routers=forced(model, {1}), skip="cache", max_age=2)
    state, usage = BranchState(), Usage()
    for i in range(6):
        t = torch.full((2,), 0.9 - 0.1 * i)
        h, inputs = model.prepare(Tokens(x, pos), t, cond)
        method.run(model.blocks, h, inputs, StepContext(i, 6, 0.5, 0.4), state, usage)
        state.calls += 1
    assert usage.total == 24 and usage.computed == pytest.approx(20)  # block 1 ran at 0 and 3


def test_time_weights_turn_logit_normal_training_times_into_uniform_ones():
    from polydit.core.accel.elastic import MAX_TIME_WEIGHT, uniform_time_weight
    from polydit.core.process import ProcessConfig, build_process

    t = torch.sigmoid(torch.randn(200_000, generator=torch.Generator().manual_seed(0)))
    process = build_process(ProcessConfig(kind="flow_matching", t_sampling="logit_normal"))
    w = uniform_time_weight(process, t)
    assert w.mean() == pytest.approx(1.0)
    # the weighted share of t < 0.2 is close to its uniform share (0.2), not its logit-normal
    # share (~8%); the clipping at MAX_TIME_WEIGHT trims the extreme tails only
    low = t < 0.2
    assert low.float().mean() < 0.1
    assert (w * low).sum() / w.sum() == pytest.approx(0.2, abs=0.03)
    assert w.max() / w.min() <= MAX_TIME_WEIGHT * 1.6  # 1/q ≥ 1/max q = 1/1.6 (at t = 1/2)
    assert torch.equal(uniform_time_weight(FlowMatching(), t[:5]), torch.ones(5))
