"""Samplers against exact denoisers: analytic targets, closed forms, CFG and given tokens."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from polydit.core.process import FlowMatching, GaussianDiffusion, ProcessConfig, build_process
from polydit.core.sampling import (
    SAMPLER_NAMES,
    ClassifierFreeGuidance,
    GivenGuidance,
    StepContext,
    sample,
)
from polydit.core.tokens import Cond

_spec = importlib.util.spec_from_file_location(
    "gaussian_mixture", Path(__file__).with_name("gaussian_mixture.py")
)
_gm = importlib.util.module_from_spec(_spec)
sys.modules["gaussian_mixture"] = _gm
_spec.loader.exec_module(_gm)
MixtureOracle = _gm.MixtureOracle

PROCESSES = {
    "fm-velocity": ProcessConfig(kind="flow_matching", prediction="velocity"),
    "fm-x0": ProcessConfig(kind="flow_matching", prediction="x0"),
    "vp-linear-eps": ProcessConfig(kind="gaussian", prediction="eps", schedule="linear"),
    "vp-cosine-v": ProcessConfig(kind="gaussian", prediction="v", schedule="cosine"),
}
# steps per sampler: enough for the discretisation error to sit well inside the tolerance
STEPS = {"euler": 200, "heun": 60, "ddim": 200, "ddpm": 400, "dpmpp2m": 40}


def mixture(process):
    return MixtureOracle(
        process,
        weights=torch.tensor([0.3, 0.7]),
        means=torch.tensor([[-2.0, 1.0], [1.5, -0.5]]),
        variances=torch.tensor([[0.3, 0.2], [0.5, 0.1]]),
    )


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("process_name", list(PROCESSES))
def test_exact_denoiser_reaches_mixture_moments(sampler, process_name):
    """With the true posterior mean plugged in, every sampler reproduces the target's mean to
    0.05 and its covariance to 0.08 (absolute) from 6000 samples (Monte-Carlo error ≈ 0.02)."""
    process = build_process(PROCESSES[process_name])
    oracle = mixture(process)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(6000, 1, 2, generator=g, dtype=torch.float64)
    x = sample(oracle, process, noise, steps=STEPS[sampler], sampler=sampler, seed=0)[:, 0]
    assert torch.allclose(x.mean(0), oracle.mean(), atol=0.05), (x.mean(0), oracle.mean())
    assert torch.allclose(torch.cov(x.T), oracle.covariance(), atol=0.08), (
        torch.cov(x.T),
        oracle.covariance(),
    )


def test_mixture_oracle_would_fail_with_a_wrong_denoiser():
    """The moment test has teeth: a denoiser for a shifted mixture misses the mean."""
    process = FlowMatching()
    wrong = mixture(process)
    wrong.means = wrong.means + 0.3
    noise = torch.randn(6000, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = sample(wrong, process, noise, steps=50)[:, 0]
    assert not torch.allclose(x.mean(0), mixture(process).mean(), atol=0.05)


@pytest.mark.parametrize("steps", [1, 7])
@pytest.mark.parametrize("sampler", ["euler", "ddim"])
def test_flow_matching_straight_paths_are_exact(sampler, steps):
    """Point-mass data at mu: the FM probability-flow paths are the straight lines
    x_t = (1 − t) mu + t z, so Euler and DDIM(eta = 0) land on mu exactly at any step count."""
    process = FlowMatching()
    z = torch.randn(64, 1, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mu = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    oracle = MixtureOracle(process, torch.ones(1), mu[None], torch.full((1, 3), 1e-30))
    x = sample(oracle, process, z, steps=steps, sampler=sampler)
    torch.testing.assert_close(x, mu.expand_as(x), atol=1e-9, rtol=0)


@pytest.mark.parametrize(("sampler", "order"), [("euler", 1), ("heun", 2)])
def test_convergence_order_on_the_curved_closed_form(sampler, order):
    """Data N(mu, s²): FM paths are x_t = (1 − t) mu + sqrt((1 − t)² s² + t²) z, ending at
    mu + s·z. Quadrupling the steps divides the error by 4**order (±30%)."""
    process = FlowMatching()
    s, mu = 0.5, torch.tensor([1.0, -2.0], dtype=torch.float64)
    oracle = MixtureOracle(process, torch.ones(1), mu[None], torch.full((1, 2), s**2))
    z = torch.randn(32, 1, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = mu + s * z
    errors = [
        (sample(oracle, process, z, steps=n, sampler=sampler) - exact).abs().max().item()
        for n in (10, 20, 40)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] / errors[2] == pytest.approx(4.0**order, rel=0.3)


def test_ddim_one_step_on_point_mass_is_exact_for_vp():
    process = GaussianDiffusion()
    mu = torch.tensor([[0.3, -0.7]], dtype=torch.float64)
    oracle = MixtureOracle(process, torch.ones(1), mu, torch.full((1, 2), 1e-30))
    z = torch.randn(16, 1, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(
        sample(oracle, process, z, steps=1, sampler="ddim")[:, 0], mu.expand(16, 2)
    )


def test_dpmpp2m_beats_euler_at_equal_steps():
    process = FlowMatching()
    s, mu = 0.5, torch.tensor([1.0, -2.0], dtype=torch.float64)
    oracle = MixtureOracle(process, torch.ones(1), mu[None], torch.full((1, 2), s**2))
    z = torch.randn(32, 1, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    exact = mu + s * z
    err = {
        name: (sample(oracle, process, z, steps=10, sampler=name) - exact).abs().max().item()
        for name in ("euler", "heun", "dpmpp2m")
    }
    assert err["dpmpp2m"] < err["euler"] / 5
    assert err["heun"] < err["euler"] / 5


class Recorder:
    """A denoiser returning fixed outputs per branch and recording its StepContexts."""

    def __init__(self):
        self.calls: list[StepContext] = []

    def __call__(self, x, t, cond, ctx):
        self.calls.append(ctx)
        value = 1.0 if cond.dropped is None else -1.0
        return torch.full_like(x, value) * torch.arange(1, x.shape[-1] + 1)


def test_cfg_guides_every_channel_and_tags_branches():
    rec = Recorder()
    cfg = ClassifierFreeGuidance(rec, scale=3.0)
    x = torch.zeros(2, 5, 4)
    cond = Cond(labels=torch.tensor([1, 2]))
    out = cfg(x, torch.ones(2), cond, StepContext(0, 1, 1.0, 0.0))
    # uncond + 3 (cond - uncond) = -c + 3 * 2c = 5c on every channel c = 1..4
    torch.testing.assert_close(out, 5 * torch.arange(1, 5.0).expand(2, 5, 4))
    assert [c.branch for c in rec.calls] == ["cond", "uncond"]


def test_given_guidance_noises_the_given_tokens_in_its_free_branch():
    seen = []

    def denoiser(x, t, cond, ctx):  # held branch: 1 everywhere; free branch: its input x
        seen.append((x.clone(), cond.given, ctx.branch))
        return torch.ones_like(x) if cond.given is not None else x

    process = FlowMatching()
    given = torch.tensor([[True, False, False]])
    x = torch.tensor([[[2.0], [5.0], [-1.0]]])  # the given token holds its clean value 2
    noise = torch.full((1, 3, 1), 4.0)
    guided = GivenGuidance(denoiser, process, 3.0, noise)
    t = torch.tensor([0.25])
    out = guided(x, t, Cond(given=given), StepContext(0, 1, 0.25, 0.0))
    free_x, free_given, branch = seen[1]
    assert free_given is None and branch == "cond-free" and seen[0][2] == "cond"
    # flow matching at t: 0.75 · clean + 0.25 · noise on the given token, x elsewhere
    torch.testing.assert_close(free_x, torch.tensor([[[2.5], [5.0], [-1.0]]]))
    torch.testing.assert_close(out, free_x + 3.0 * (1.0 - free_x))
    seen.clear()
    assert torch.equal(
        GivenGuidance(denoiser, process, 1.0, noise)(
            x, t, Cond(given=given), StepContext(0, 1, 0.25, 0.0)
        ),
        torch.ones_like(x),
    )
    assert len(seen) == 1  # scale 1: the plain call only


def test_sampler_step_contexts():
    rec = Recorder()
    sample(
        rec,
        FlowMatching(),
        torch.zeros(1, 1, 2),
        steps=3,
        sampler="heun",
        cond=Cond(labels=torch.tensor([0])),
    )
    assert [(c.index, c.stage) for c in rec.calls] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    assert rec.calls[0].t == 1.0 and rec.calls[-1].t_next == 0.0


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_given_tokens_are_held(sampler):
    process = FlowMatching()
    oracle = mixture(process)
    noise = torch.randn(4, 1, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    noise = noise.expand(4, 3, 2).contiguous()
    given = torch.tensor([[True, False, True]]).expand(4, 3)
    known = torch.full((4, 3, 2), 7.0, dtype=torch.float64)

    def per_token(x, t, cond, ctx):  # the oracle applied to each token independently
        return torch.cat([oracle(x[:, i : i + 1], t, cond, ctx) for i in range(x.shape[1])], 1)

    x = sample(
        per_token,
        process,
        noise,
        steps=5,
        sampler=sampler,
        cond=Cond(given=given),
        known=known,
    )
    assert torch.equal(x[given], known[given])
    assert not torch.equal(x[:, 1], known[:, 1])


def test_time_grid_shift_and_bad_steps():
    from polydit.core.errors import ConfigError
    from polydit.core.sampling import time_grid

    g = time_grid(4, shift=3.0)
    assert g[0] == 1.0 and g[-1] == 0.0 and bool((g[1:] < g[:-1]).all())
    assert g[2] == pytest.approx(3 * 0.5 / (1 + 2 * 0.5))
    with pytest.raises(ConfigError, match="steps"):
        time_grid(0)
    with pytest.raises(ConfigError, match="sampler"):
        sample(Recorder(), FlowMatching(), torch.zeros(1, 1, 1), steps=1, sampler="rk45")


def test_ddpm_sample_does_not_depend_on_its_batch():
    """Stochastic step noise is per sample: sample i of a batch of 5 equals sample 0 of a batch
    of 1 seeded with seed + i, and differs from sample 0 of the same batch."""
    process = FlowMatching()
    oracle = mixture(process)
    noise = torch.randn(5, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    batch = sample(oracle, process, noise, steps=10, sampler="ddpm", seed=3)
    alone = sample(oracle, process, noise[2:3], steps=10, sampler="ddpm", seed=5)
    assert torch.equal(batch[2:3], alone)
    shared = sample(oracle, process, noise[2:3].expand(2, 1, 2), steps=10, sampler="ddpm", seed=5)
    assert not torch.equal(shared[0], shared[1])
