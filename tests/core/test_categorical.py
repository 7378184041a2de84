"""CategoricalDiffusion: limits, posteriors against brute-force Bayes, DFM rates against the
Kolmogorov equation, and both samplers against an exact denoiser on independent tokens."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chi2

from polydit.core.errors import ConfigError
from polydit.core.process import (
    TIME_GRIDS,
    CategoricalConfig,
    CategoricalDiffusion,
    class_frequencies,
    sample_categorical,
    time_grid,
)

K = 4
MARGINALS = (0.5, 0.3, 0.15, 0.05)
CONFIGS = {
    "uniform": CategoricalConfig(num_classes=K, transition="uniform"),
    "marginal": CategoricalConfig(num_classes=K, transition="marginal", marginals=MARGINALS),
    "absorbing": CategoricalConfig(num_classes=K, transition="absorbing"),
    # a marginal with empty classes: x0 outside supp(m) exercises the support handling
    "marginal-sparse": CategoricalConfig(
        num_classes=K, transition="marginal", marginals=(0.6, 0.4, 0.0, 0.0), schedule="linear"
    ),
}
THREE = ("uniform", "marginal", "absorbing")


def data_distribution(name: str, positions: int = 6) -> torch.Tensor:
    """(positions, K) float64 independent per-position categorical p(x0); absorbing data never
    takes the mask state (the last class)."""
    g = torch.Generator().manual_seed(7)
    p = torch.rand(positions, K, generator=g, dtype=torch.float64) + 0.2
    if name == "absorbing":
        p[:, -1] = 0
    return p / p.sum(-1, keepdim=True)


def exact_denoiser(process: CategoricalDiffusion, p: torch.Tensor):
    """logits of the exact p(x0 = k | x_t) ∝ p_k · q(x_t | x0 = k) for independent tokens."""
    m = process.limit()

    def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = process.alpha_bar(t.double()).reshape(-1, *([1] * x.dim()))  # (B, 1, ..., 1)
        lik = ab * F.one_hot(x, K).double() + (1 - ab) * m[x][..., None]  # (B, ..., K)
        return p.log() + lik.log()

    return fn


def bayes(process: CategoricalDiffusion, x0: int, xt: int, t: float, s: float) -> torch.Tensor:
    """q(x_s | x_t, x_0) (K,) by brute force: the joint q(x0, x_s, x_t) with the s → t kernel
    taken as Q̄_s⁻¹ Q̄_t (numerical inverse), normalised over x_s."""
    m = process.limit()
    eye = torch.eye(K, dtype=torch.float64)

    def qbar(u: float) -> torch.Tensor:
        ab = float(process.alpha_bar(u))
        return ab * eye + (1 - ab) * m[None]

    step = torch.linalg.solve(qbar(s), qbar(t))  # Q_{s→t}, rows x_s, columns x_t
    joint = qbar(s)[x0] * step[:, xt]  # (K,) over x_s
    return joint / joint.sum()


# --- config ---------------------------------------------------------------------------------


def test_config_json_round_trip_and_errors():
    cfg = CONFIGS["marginal"]
    assert CategoricalConfig.from_dict(cfg.to_dict()) == cfg
    bad = [
        {"num_classes": 1},
        {"transition": "gaussian"},
        {"schedule": "sqrt"},
        {"transition": "marginal"},  # no marginals
        {"transition": "marginal", "marginals": (0.5, 0.5)},  # wrong length
        {"transition": "marginal", "marginals": (0.5, 0.3, 0.1, 0.05)},  # sums to 0.95
        {"transition": "marginal", "marginals": (1.1, -0.1, 0.0, 0.0)},
        {"transition": "uniform", "marginals": (0.25,) * 4},  # marginals without "marginal"
        {"transition": "absorbing", "mask_index": 4},
    ]
    for fields in bad:
        with pytest.raises(ConfigError, match="CategoricalConfig"):
            CategoricalConfig(**{"num_classes": K, **fields})
    assert CategoricalDiffusion(num_classes=K, transition="absorbing", mask_index=1).mask_index == 1


def test_class_frequencies():
    x = torch.tensor([[0, 1, 1, 3], [3, 3, 0, 2]])
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    assert class_frequencies(x, K, mask) == (1 / 6, 2 / 6, 0.0, 3 / 6)
    assert sum(class_frequencies(x, K)) == pytest.approx(1.0)


# --- schedule and corruption ----------------------------------------------------------------


def test_cosine_alpha_bar_is_digress_cosine():
    process = CategoricalDiffusion(CONFIGS["uniform"])
    s = 0.008
    for t in (0.0, 0.1, 0.37, 0.5, 0.9, 0.999):
        expected = (
            math.cos((t + s) / (1 + s) * math.pi / 2) ** 2
            / math.cos(s / (1 + s) * math.pi / 2) ** 2
        )
        assert float(process.alpha_bar(t)) == pytest.approx(expected, rel=1e-12)
    assert float(process.alpha_bar(0.0)) == 1.0
    assert float(process.alpha_bar(1.0)) == 0.0  # exactly the limit
    ab = process.alpha_bar(torch.linspace(0, 1, 101, dtype=torch.float64))
    assert (ab[1:] < ab[:-1]).all()
    linear = CategoricalDiffusion(CONFIGS["marginal-sparse"])
    assert torch.equal(linear.alpha_bar(torch.tensor([0.0, 0.25, 1.0])), torch.tensor([1, 0.75, 0]))


def test_limit_distributions():
    assert torch.allclose(
        CategoricalDiffusion(CONFIGS["uniform"]).limit(),
        torch.full((K,), 0.25, dtype=torch.float64),
    )
    marginal = CategoricalDiffusion(CONFIGS["marginal"]).limit()
    assert torch.allclose(marginal, torch.tensor(MARGINALS, dtype=torch.float64))
    assert torch.equal(
        CategoricalDiffusion(CONFIGS["absorbing"]).limit(),
        torch.tensor([0.0, 0, 0, 1], dtype=torch.float64),
    )


@pytest.mark.parametrize("name", THREE)
def test_marginal_at_one_is_the_limit_analytically(name):
    process = CategoricalDiffusion(CONFIGS[name])
    onehot = F.one_hot(torch.arange(K), K).double()[None]  # (1, K, K): every x0
    q1 = process.marginal_at(onehot, torch.tensor([1.0]))
    assert torch.equal(q1, process.limit().expand(1, K, K))
    q0 = process.marginal_at(onehot, torch.tensor([0.0]))
    assert torch.equal(q0, onehot)


@pytest.mark.parametrize("name", THREE)
def test_corrupt_empirical_marginals(name):
    """At t = 1 the corrupted frequencies equal m from every x0, at t = 0.6 they equal
    q(x_t | x0): 200,000 draws per x0, tolerance 0.006 per class (≈ 5 standard errors)."""
    process = CategoricalDiffusion(CONFIGS[name])
    g = torch.Generator().manual_seed(0)
    x0 = torch.arange(K).repeat_interleave(50_000).reshape(4, 50_000)  # row b holds class b
    for t in (1.0, 0.6):
        xt = process.corrupt(x0, torch.full((4,), t), g)
        freq = F.one_hot(xt, K).double().mean(1)  # (4, K)
        expected = process.marginal_at(F.one_hot(torch.arange(K), K).double(), torch.full((4,), t))
        assert (freq - expected).abs().max() < 0.006, (t, freq, expected)
    if name == "absorbing":  # t = 1 is exactly all-mask
        assert (process.corrupt(x0, 1.0, g) == K - 1).all()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_corrupt_at_zero_is_identity_and_seeded(name):
    process = CategoricalDiffusion(CONFIGS[name])
    x0 = torch.randint(0, K - 1, (8, 5, 5), generator=torch.Generator().manual_seed(1))
    assert torch.equal(process.corrupt(x0, torch.zeros(8), torch.Generator().manual_seed(2)), x0)
    t = torch.rand(8, generator=torch.Generator().manual_seed(3))
    a = process.corrupt(x0, t, torch.Generator().manual_seed(4))
    b = process.corrupt(x0, t, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and a.shape == x0.shape and a.dtype == torch.long


# --- posterior and DFM step -----------------------------------------------------------------


def random_inputs(seed: int, shape=(6, 5, 5)):
    """x_t, p̂ with some exact zeros, t > s; the p̂ of sample 0 is all-zero (fallback path)."""
    g = torch.Generator().manual_seed(seed)
    xt = torch.randint(0, K, shape, generator=g)
    probs = torch.rand(*shape, K, generator=g, dtype=torch.float64) ** 3
    probs = probs * (torch.rand(*shape, K, generator=g, dtype=torch.float64) > 0.3)
    probs[0] = 0
    probs = probs / probs.sum(-1, keepdim=True).clamp_min(1e-300)
    t = torch.rand(shape[0], generator=g, dtype=torch.float64) * 0.9 + 0.1
    s = t * torch.rand(shape[0], generator=g, dtype=torch.float64)
    t[1], s[1] = 1.0, 0.0  # the whole way in one step
    return xt, probs, t, s


@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_and_dfm_step_are_distributions(name):
    process = CategoricalDiffusion(CONFIGS[name])
    for seed in range(3):
        xt, probs, t, s = random_inputs(seed)
        # x_t must be reachable at t: outside supp(m) only as x_t = x_0, so not at t = 1
        xt[1] = torch.where(process.limit()[xt[1]] > 0, xt[1], process.limit().argmax())
        for out in (
            process.posterior(xt, probs, t, s),
            process.dfm_step(xt, probs, t, s),
            process.dfm_step(xt, probs, t, s, eta=2.0),
        ):
            assert out.shape == (*xt.shape, K)
            assert torch.isfinite(out).all() and (out >= 0).all()
            assert torch.allclose(out.sum(-1), torch.ones(xt.shape, dtype=out.dtype), atol=1e-10)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_equals_brute_force_bayes(name):
    """One-hot x0: q(x_s | x_t, x0) for every reachable (x0, x_t) pair; a soft p̂: the p̂-mixture
    (restricted to the x0 that can produce x_t) of the brute-force posteriors."""
    process = CategoricalDiffusion(CONFIGS[name])
    m = process.limit()
    for t, s in ((0.7, 0.3), (1.0, 0.5), (0.2, 0.0), (0.55, 0.54)):
        for xt in range(K):
            reachable = [k for k in range(K) if (k == xt and t < 1) or m[xt] > 0]
            for x0 in reachable:
                got = process.posterior(
                    torch.tensor([xt]), F.one_hot(torch.tensor([x0]), K).double(), t, s
                )[0]
                assert torch.allclose(got, bayes(process, x0, xt, t, s), atol=1e-10), (t, s, xt, x0)
            if not reachable:
                continue
            p_hat = torch.tensor([0.1, 0.4, 0.3, 0.2], dtype=torch.float64)
            pi = torch.zeros(K, dtype=torch.float64)
            pi[reachable] = p_hat[reachable] / p_hat[reachable].sum()
            mixture = sum(pi[k] * bayes(process, k, xt, t, s) for k in reachable)
            got = process.posterior(torch.tensor([xt]), p_hat[None], t, s)[0]
            assert torch.allclose(got, mixture, atol=1e-10), (t, s, xt)


@pytest.mark.parametrize("eta", [0.0, 1.5])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_dfm_rates_solve_the_kolmogorov_equation(name, eta):
    """For each x0 = k the conditional rates move p(· | k) = κ δ_k + (1 − κ) m along the path:
    Σ_i p(i) R(i → j) − p(j) Σ_l R(j → l) = ∂_κ p(j | k) = δ_jk − m_j (η's term cancels)."""
    process = CategoricalDiffusion(CONFIGS[name])
    m = process.limit()
    states = torch.arange(K)
    for t in (0.9, 0.5, 0.1):
        kappa = float(process.alpha_bar(t))
        for k in range(K):
            p = kappa * F.one_hot(torch.tensor(k), K).double() + (1 - kappa) * m  # (K,)
            rates = process.dfm_rates(states, F.one_hot(torch.tensor([k] * K), K).double(), t, eta)
            rates = rates * (p > 0)[:, None]  # rows of unreachable x_t do not matter
            flow = p @ rates - p * rates.sum(-1)
            target = F.one_hot(torch.tensor(k), K).double() - m
            assert torch.allclose(flow, target, atol=1e-10), (t, k, flow, target)


# --- samplers with an exact denoiser --------------------------------------------------------


def exact_chain(process, p, steps, sampler, eta=0.0, grid="uniform"):
    """Run the sampler's step kernels on the distribution itself (no draws): returns the largest
    TV distance to the true marginal Σ_k p_k q(x_s | k) over all grid times and positions."""
    m = process.limit()
    denoise = exact_denoiser(process, p)
    states = torch.arange(K)[:, None].expand(K, p.shape[0])  # (K states, positions)
    dist = m.expand(p.shape[0], K).clone()  # (positions, K): x_1 ~ m
    grid = time_grid(steps, grid)
    worst = 0.0
    for n in range(steps):
        t, s = grid[n], grid[n + 1]
        probs = process.x0_probs(denoise(states, torch.full((K,), float(t), dtype=torch.float64)))
        if sampler == "ancestral":
            kernel = process.posterior(states, probs, t, s)  # (K from, positions, K to)
        else:
            kernel = process.dfm_step(states, probs, t, s, eta)
        dist = torch.einsum("pi,ipj->pj", dist, kernel)
        target = process.marginal_at(p, float(s))
        worst = max(worst, float((dist - target).abs().sum(-1).max()) / 2)
    return worst


@pytest.mark.parametrize("name", list(CONFIGS))
def test_exact_chain_reproduces_every_marginal(name):
    """Ancestral: exact (TV < 1e-12 at every grid time) at any step count. DFM with η = 0: exact
    once no Euler row needs renormalising (32 steps for every config; 1 step for uniform,
    absorbing and the sparse marginal). η = 1 keeps that, except for absorbing, whose last
    step out of the mask state always renormalises: there it converges (1e-4 at 32 steps,
    1e-6 at 128)."""
    process = CategoricalDiffusion(CONFIGS[name])
    p = data_distribution(name)
    for steps in (1, 3, 16):
        assert exact_chain(process, p, steps, "ancestral") < 1e-12
    assert exact_chain(process, p, 32, "dfm") < 1e-12
    if name != "marginal":
        assert exact_chain(process, p, 1, "dfm") < 1e-12
    else:  # rare classes of m: large early steps renormalise
        assert exact_chain(process, p, 3, "dfm") > 1e-3
    if name != "absorbing":
        assert exact_chain(process, p, 32, "dfm", eta=1.0) < 1e-12
    else:
        assert exact_chain(process, p, 32, "dfm", eta=1.0) < 1e-4
        assert exact_chain(process, p, 128, "dfm", eta=1.0) < 1e-6


@pytest.mark.parametrize("grid", TIME_GRIDS)
def test_every_time_grid_runs_from_one_to_zero_and_keeps_ancestral_exact(grid):
    times = time_grid(7, grid)
    assert times.shape == (8,) and times[0] == 1.0 and times[-1] == 0.0
    assert (times.diff() < 0).all(), times
    process = CategoricalDiffusion(CONFIGS["marginal"])
    assert exact_chain(process, data_distribution("marginal"), 5, "ancestral", grid=grid) < 1e-12


def test_polydec_refines_near_the_data_and_polyinc_near_the_noise():
    uniform, dec, inc = (time_grid(10, g) for g in ("uniform", "polydec", "polyinc"))
    assert float(dec[-2]) < float(uniform[-2]) < float(inc[-2])  # last step, into t = 0
    assert 1 - float(inc[1]) < 1 - float(uniform[1]) < 1 - float(dec[1])  # first step
    with pytest.raises(ConfigError, match="time grid"):
        time_grid(10, "linear")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_target_guidance_is_defogs_term_averaged_over_the_prediction(name):
    """dfm_rates(ω) − dfm_rates(0) = Σ_k p̂(k | x_t) · ω δ_jk / (|S_k| · p(x_t | k)) for j ≠ x_t,
    the expectation over x_0 of DeFoG's guidance rate, computed here class by class."""
    process = CategoricalDiffusion(CONFIGS[name])
    m = process.limit()
    support = int((m > 0).sum())
    g = torch.Generator().manual_seed(3)
    states = torch.arange(K)
    for t in (0.9, 0.4):
        kappa = float(process.alpha_bar(t))
        p_hat = torch.rand(K, K, generator=g, dtype=torch.float64)
        if name == "absorbing":
            p_hat[:, -1] = 0
        p_hat = p_hat / p_hat.sum(-1, keepdim=True)
        got = process.dfm_rates(states, p_hat, t, omega=0.3) - process.dfm_rates(states, p_hat, t)
        want = torch.zeros(K, K, dtype=torch.float64)
        for i in range(K):
            # p̂ restricted to the x_0 that can reach x_t = i, renormalised (as the sampler does)
            reach = torch.tensor([kappa * (k == i) + (1 - kappa) * m[i] > 0 for k in range(K)])
            pi = p_hat[i] * reach / (p_hat[i] * reach).sum()
            for j in range(K):
                if j != i and m[i] > 0:
                    size = support + int(m[j] == 0)
                    want[i, j] = 0.3 * pi[j] / (size * (1 - kappa) * m[i])
        live = m > 0  # rows of x_t outside supp(m) are unreachable for t > 0
        assert torch.allclose(got[live], want[live], atol=1e-10), (name, t)


def chi_square(x: torch.Tensor, p: torch.Tensor) -> tuple[float, float]:
    """(Pearson χ² summed over positions, its 0.999 quantile) of samples x (B, N) against p (N, K),
    over the cells with p > 0 (a sample in a p = 0 cell gives χ² = inf)."""
    counts = F.one_hot(x, K).double().sum(0)  # (N, K)
    expected = p * x.shape[0]
    if (counts[expected == 0] > 0).any():
        return math.inf, 0.0
    live = expected > 0
    stat = float(((counts - expected) ** 2 / expected)[live].sum())
    dof = int(live.sum()) - p.shape[0]
    return stat, float(chi2.ppf(0.999, dof))


@pytest.mark.parametrize(
    ("sampler", "eta", "steps"), [("ancestral", 0.0, 5), ("dfm", 0.0, 32), ("dfm", 1.0, 32)]
)
@pytest.mark.parametrize("name", THREE)
def test_exact_denoiser_samples_match_the_data(name, sampler, eta, steps):
    """3000 samples × 6 positions: Pearson χ² below its 0.999 quantile (seeded, so the test is
    deterministic), and every position's TV distance below 0.04 (≈ 3× its Monte-Carlo error)."""
    process = CategoricalDiffusion(CONFIGS[name])
    p = data_distribution(name)
    x = process.sample(
        exact_denoiser(process, p), (3000, 6), steps, seed=0, sampler=sampler, eta=eta
    )
    assert x.shape == (3000, 6) and x.dtype == torch.long
    stat, bound = chi_square(x, p)
    assert stat < bound, (stat, bound)
    tv = (F.one_hot(x, K).double().mean(0) - p).abs().sum(-1) / 2
    assert tv.max() < 0.04, tv


@pytest.mark.parametrize("name", THREE)
def test_sampling_from_data_corrupted_to_t_start_reproduces_the_data(name):
    """SDEdit-style start: x0 ~ p corrupted to t_start = 0.4 is a draw of the true marginal at
    0.4, so the exact-denoiser ancestral chain from there reproduces p (the χ² check); started
    from a point mass instead (every token class 0), it does not."""
    process = CategoricalDiffusion(CONFIGS[name])
    p = data_distribution(name)
    g = torch.Generator().manual_seed(5)
    x0 = torch.multinomial(p, 3000, replacement=True, generator=g).T  # (3000, 6)
    xt = process.corrupt(x0, 0.4, g)
    exact = exact_denoiser(process, p)
    (x,) = sample_categorical(
        (process,), lambda s, t: (exact(s[0], t),), ((3000, 6),), 4, start=(xt,), t_start=0.4
    )
    stat, bound = chi_square(x, p)
    assert stat < bound, (stat, bound)
    (y,) = sample_categorical(
        (process,),
        lambda s, t: (exact(s[0], t),),
        ((3000, 6),),
        4,
        start=(torch.zeros_like(xt),),
        t_start=0.4,
    )
    assert chi_square(y, p)[0] > bound
    with pytest.raises(ConfigError, match="t_start"):
        sample_categorical((process,), lambda s, t: (exact(s[0], t),), ((2, 6),), 2, t_start=0)


def test_a_wrong_time_convention_fails_the_check():
    """The χ² check can fail: the exact denoiser evaluated at 1 − t (the other time convention)
    does not reproduce p."""
    process = CategoricalDiffusion(CONFIGS["marginal"])
    p = data_distribution("marginal")
    exact = exact_denoiser(process, p)
    x = process.sample(lambda x, t: exact(x, 1 - t), (3000, 6), 5, seed=0)
    stat, bound = chi_square(x, p)
    assert stat > bound


@pytest.mark.parametrize("sampler", ["ancestral", "dfm"])
def test_seeded_and_independent_of_batch_size(sampler):
    process = CategoricalDiffusion(CONFIGS["marginal"])
    p = data_distribution("marginal")
    denoise = exact_denoiser(process, p)
    a = process.sample(denoise, (7, 6), 6, seed=11, sampler=sampler)
    b = process.sample(denoise, (7, 6), 6, seed=11, sampler=sampler)
    small = process.sample(denoise, (3, 6), 6, seed=11, sampler=sampler)
    shifted = process.sample(denoise, (3, 6), 6, seed=12, sampler=sampler)
    assert torch.equal(a, b)
    assert torch.equal(a[:3], small)
    assert torch.equal(a[1:4], shifted)  # sample i is seed + i, wherever it sits
    assert not torch.equal(a, process.sample(denoise, (7, 6), 6, seed=99, sampler=sampler))


def test_joint_node_and_edge_sampling_with_symmetric_edges():
    """Two states (nodes (B, N) with 3 classes, edges (B, N, N) with 2) share t and one
    denoiser; `project` keeps the edge state symmetric; both marginals are reproduced."""
    nodes = CategoricalDiffusion(num_classes=3, transition="marginal", marginals=(0.2, 0.5, 0.3))
    edges = CategoricalDiffusion(num_classes=2, transition="absorbing", mask_index=1)
    p_node = torch.tensor([0.6, 0.1, 0.3], dtype=torch.float64)
    p_edge = torch.tensor([1.0, 0.0], dtype=torch.float64)  # absorbing: class 1 is the mask

    def exact(process, p, x, t):
        ab = process.alpha_bar(t.double()).reshape(-1, *([1] * (x.dim() - 1)))[..., None]
        m = process.limit()
        lik = ab * F.one_hot(x, process.num_classes).double() + (1 - ab) * m[x][..., None]
        return p.log() + lik.log()

    upper = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)

    def symmetric(states):
        x, e = states
        e = torch.where(upper, e, 0)
        return x, e + e.transpose(1, 2)

    x, e = sample_categorical(
        (nodes, edges),
        lambda s, t: (exact(nodes, p_node, s[0], t), exact(edges, p_edge, s[1], t)),
        ((2000, 5), (2000, 5, 5)),
        steps=4,
        seed=3,
        project=symmetric,
    )
    assert torch.equal(e, e.transpose(1, 2)) and (e == 0).all()
    freq = F.one_hot(x, 3).double().mean((0, 1))
    assert (freq - p_node).abs().max() < 0.02, freq


def test_sampler_errors():
    process = CategoricalDiffusion(CONFIGS["uniform"])
    denoise = exact_denoiser(process, data_distribution("uniform"))
    with pytest.raises(ConfigError, match="sampler"):
        process.sample(denoise, (2, 6), 4, sampler="euler")
    with pytest.raises(ConfigError, match="eta"):
        process.sample(denoise, (2, 6), 4, sampler="ancestral", eta=0.5)
    with pytest.raises(ConfigError, match="omega"):
        process.sample(denoise, (2, 6), 4, sampler="ancestral", omega=0.1)
    with pytest.raises(ConfigError, match="time grid"):
        process.sample(denoise, (2, 6), 4, grid="log")
    with pytest.raises(ConfigError, match="steps"):
        process.sample(denoise, (2, 6), 0)
    with pytest.raises(ValueError, match="logits"):
        process.sample(lambda x, t: torch.zeros(*x.shape, K + 1), (2, 6), 4)


# --- loss -----------------------------------------------------------------------------------


def test_loss_is_masked_weighted_cross_entropy():
    process = CategoricalDiffusion(CONFIGS["uniform"])
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 4, K, generator=g)
    x0 = torch.randint(0, K, (3, 4, 4), generator=g)
    mask = torch.rand(3, 4, 4, generator=g) > 0.4
    weight = torch.tensor([1.0, 0.5, 2.0])
    nll = -logits.log_softmax(-1).gather(-1, x0[..., None])[..., 0]
    assert torch.allclose(process.loss(logits, x0), nll.mean())
    assert torch.allclose(process.loss(logits, x0, mask), nll[mask].mean())
    weighted = (nll * weight[:, None, None])[mask].sum() / mask.sum()
    assert torch.allclose(process.loss(logits, x0, mask, weight), weighted)
    perfect = F.one_hot(x0, K).float() * 100
    assert process.loss(perfect, x0) < 1e-6
    with pytest.raises(ValueError, match="logits"):
        process.loss(logits[..., :2], x0)
