"""Categorical (discrete-state) diffusion on the shared convention: t ∈ [0, 1], t = 0 is data,
t = 1 is the limit distribution.

A state is a tensor of class indices x (B, ...) over K classes; only the leading batch axis has
a meaning, so node types (B, N) and edge types (B, N, N) go through the same code. With the limit
distribution m (K,) and a schedule ᾱ(t), ᾱ(0) = 1, ᾱ(1) = 0 (every transition is a rank-one mix
towards m, ``Q̄_t = ᾱ_t I + (1 − ᾱ_t) 1 mᵀ``):

    q(x_t | x_0)      = ᾱ_t · onehot(x_0) + (1 − ᾱ_t) · m
    q(x_t | x_s)      = a · onehot(x_s) + (1 − a) · m,           a = ᾱ_t / ᾱ_s,  s < t
    q(x_s | x_t, x_0) = q(x_t | x_s) q(x_s | x_0) / q(x_t | x_0)
    p(x_s | x_t)      = Σ_k p̂(x_0 = k | x_t) · q(x_s | x_t, x_0 = k)    (x0-parameterised, DiGress)

transition: "uniform" m = 1/K (D3PM); "marginal" m = the data's class frequencies (DiGress);
"absorbing" m = onehot(mask) (D3PM/MDLM: the mask class is a state that data never takes).
schedule: "cosine" ᾱ(t) = f(t)/f(0), f(t) = cos²(π/2 · (t + s)/(1 + s)), s = 0.008 (DiGress's
cosine schedule in continuous t, ᾱ(1) = 0 exactly); "linear" ᾱ(t) = 1 − t (DeFoG's linear path).

Samplers run t from 1 to 0 on a grid of `steps` steps, uniform or distorted (DeFoG's time
distortions in our convention, u = n / steps running 0 → 1: "uniform" t = 1 − u, "polydec"
t = (1 − u)² (finer steps near the data), "polyinc" t = 1 − u² (finer near the noise), "cos"
t = (1 + cos πu) / 2 (finer at both ends)); sample i draws its start from a
generator seeded ``seed + i`` and its step randomness from one seeded ``STEP_SEED_OFFSET + seed +
i`` (as :class:`~polydit.core.sampling.StepNoise`), so it never depends on the batch it is in.

- "ancestral": x_s ~ p(x_s | x_t) above (DiGress / D3PM).
- "dfm": discrete flow matching (Campbell et al. 2024; DeFoG, Qin et al. 2025) on the path
  p(x | x_0) = κ · onehot(x_0) + (1 − κ) · m with κ = ᾱ(t): for "linear" that is DeFoG's linear
  path p_t = (1 − t)·δ_{x_0} + t·m in our convention, for "cosine" the same path under the time
  change κ = ᾱ(t). Rates per unit κ, for j ≠ i = x_t, on the support S_k = {j: p(j | k) > 0}:

      R*(i → j | k) = ReLU(∂_κ p(j | k) − ∂_κ p(i | k)) / (|S_k| · p(i | k)),  ∂_κ p(j | k) = δ_jk − m_j
      R^DB(i → j | k) = η · p(j | k)       (DeFoG's detailed-balance term; η = 0 is R* alone)
      R^ω(i → j | k)  = ω · δ_jk / (|S_k| · p(i | k))   (DeFoG's target guidance; ω = 0 is off)

  averaged over p̂(x_0 = k | x_t) (the expectation, not DeFoG's single draw of x_0), and one Euler
  step P(x_s = j) = (κ_s − κ_t) · R(i → j); rows whose off-diagonal mass exceeds 1 (large steps
  out of rare classes of a non-uniform m; with η > 0 the last step out of an absorbing mask)
  are renormalised with no mass left on x_t. Target guidance biases the chain towards the
  denoiser's prediction, so it trades exactness for sample quality (DeFoG uses ω ≈ 0.05–0.1).

Both samplers are exact for independent tokens with an exact denoiser at any step count (dfm:
while no row needs renormalising); for dependent tokens they converge as steps grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError

TRANSITIONS = ("uniform", "marginal", "absorbing")
SCHEDULES = ("cosine", "linear")
CATEGORICAL_SAMPLERS = ("ancestral", "dfm")
TIME_GRIDS = ("uniform", "polydec", "polyinc", "cos")
COSINE_S = 0.008
#: offset of the per-sample step-randomness seeds, the same as ``StepNoise.OFFSET``
STEP_SEED_OFFSET = 2**32
_TINY = 1e-30


@dataclass(frozen=True)
class CategoricalConfig(JsonConfig):
    """Serialisable description of a categorical process.

    num_classes: K, the number of states (for "absorbing" this includes the mask state).
    transition: "uniform" | "marginal" | "absorbing" (the limit distribution m, see the module).
    marginals: "marginal" only — K probabilities summing to 1 (e.g. :func:`class_frequencies`
        of the training data); must be None otherwise.
    mask_index: "absorbing" only — the mask state; negative counts from the end (−1 = last).
    schedule: "cosine" (DiGress) or "linear" (ᾱ = 1 − t, DeFoG).
    """

    num_classes: int = 2
    transition: str = "uniform"
    marginals: tuple[float, ...] | None = None
    mask_index: int = -1
    schedule: str = "cosine"

    def __post_init__(self) -> None:
        k = self.num_classes
        if k < 2:
            raise ConfigError(f"CategoricalConfig.num_classes={k}; expected at least 2")
        for name, allowed in (("transition", TRANSITIONS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"CategoricalConfig.{name}={getattr(self, name)!r}; expected one of {allowed}"
                )
        if self.transition == "marginal":
            m = self.marginals
            if m is None or len(m) != k:
                raise ConfigError(
                    f"CategoricalConfig.marginals: transition='marginal' needs {k} probabilities, "
                    f"got {m!r}"
                )
            if min(m) < 0 or abs(sum(m) - 1) > 1e-6:
                raise ConfigError(
                    f"CategoricalConfig.marginals={m!r}; expected non-negative values summing to 1"
                )
        elif self.marginals is not None:
            raise ConfigError(
                "CategoricalConfig.marginals is only used with transition='marginal'; "
                f"got transition={self.transition!r}"
            )
        if not -k <= self.mask_index < k:
            raise ConfigError(
                f"CategoricalConfig.mask_index={self.mask_index}; expected -{k} ≤ index < {k}"
            )


def class_frequencies(x: Tensor, num_classes: int, mask: Tensor | None = None) -> tuple[float, ...]:
    """Class frequencies of the states x (B, ...) over the entries where mask (B, ...) is True:
    the limit distribution of a "marginal" transition (DiGress)."""
    values = x[mask] if mask is not None else x.reshape(-1)
    if values.numel() == 0:
        raise ValueError("class_frequencies: no entries to count")
    counts = torch.bincount(values.long(), minlength=num_classes).double()
    if counts.numel() > num_classes:
        raise ValueError(f"class_frequencies: a state is ≥ num_classes={num_classes}")
    return tuple(float(c) for c in counts / counts.sum())


def _per_sample(v: Tensor | float, like: Tensor) -> Tensor:
    """v () or (B,) as float64, shaped to broadcast against like (B, ...)."""
    v = torch.as_tensor(v, dtype=torch.float64, device=like.device)
    return v.reshape(-1, *([1] * (like.dim() - 1))) if v.dim() == 1 else v


def _draw(probs: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF draw (...) long from non-negative weights probs (..., K) (not necessarily
    normalised) with uniforms u (...) in [0, 1); a class of weight 0 is never drawn."""
    cum = probs.double().cumsum(-1)
    total = cum[..., -1:]
    threshold = torch.minimum(
        u.double()[..., None] * total, torch.nextafter(total, cum.new_zeros(()))
    )
    return (cum <= threshold).sum(-1).clamp_max(probs.shape[-1] - 1)


def _uniforms(generators: Sequence[torch.Generator], shape: tuple[int, ...]) -> Tensor:
    """(B, *shape) float64 uniforms, row i from generators[i]."""
    return torch.stack([torch.rand(shape, generator=g, dtype=torch.float64) for g in generators])


class CategoricalDiffusion:
    """Discrete diffusion over K classes: corruption, x0-parameterised posterior, loss and the
    ancestral / discrete-flow-matching samplers (formulas in the module docstring)."""

    def __init__(self, config: CategoricalConfig | None = None, **overrides: Any):
        self.config = config or CategoricalConfig(**overrides)
        cfg, k = self.config, self.config.num_classes
        if cfg.transition == "uniform":
            m = torch.full((k,), 1.0 / k, dtype=torch.float64)
        elif cfg.transition == "marginal":
            m = torch.tensor(cfg.marginals, dtype=torch.float64)
            m = m / m.sum()
        else:
            m = F.one_hot(torch.tensor(self.mask_index), k).double()
        self._m = m

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def mask_index(self) -> int:
        """The absorbing state's index in [0, K) (meaningful for transition='absorbing')."""
        return self.config.mask_index % self.config.num_classes

    def limit(self) -> Tensor:
        """The limit distribution m (K,) float64: q(x_1 | x_0) for every x_0."""
        return self._m.clone()

    def alpha_bar(self, t: Tensor | float) -> Tensor:
        """ᾱ(t) (same shape as t; float64 for a float t): the probability that x_t is still x_0
        rather than a fresh draw from m."""
        if not isinstance(t, Tensor):
            t = torch.tensor(t, dtype=torch.float64)
        out_dtype = t.dtype if t.is_floating_point() else torch.float64
        t = t.double()
        if self.config.schedule == "linear":
            ab = 1 - t
        else:
            f = torch.cos((t + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2
            ab = f / math.cos(COSINE_S / (1 + COSINE_S) * math.pi / 2) ** 2
            ab = torch.where(t >= 1, torch.zeros_like(ab), ab)
        return ab.clamp(0, 1).to(out_dtype)

    def sample_t(
        self, n: int, generator: torch.Generator | None = None, device: Any = "cpu"
    ) -> Tensor:
        """Training times (n,) uniform in [0, 1)."""
        return torch.rand(n, generator=generator).to(device)

    def marginal_at(self, x0_onehot: Tensor, t: Tensor | float) -> Tensor:
        """q(x_t | x_0) (B, ..., K) = ᾱ_t · x0_onehot + (1 − ᾱ_t) · m for x0_onehot (B, ..., K)
        (one-hot or any distribution over x_0), t (B,) or a float."""
        ab = _per_sample(self.alpha_bar(t), x0_onehot)
        m = self._m.to(x0_onehot.device)
        return (ab * x0_onehot.double() + (1 - ab) * m).to(x0_onehot.dtype)

    def corrupt(
        self, x0: Tensor, t: Tensor | float, generator: torch.Generator | None = None
    ) -> Tensor:
        """x_t ~ q(x_t | x_0) (B, ...) long for x0 (B, ...) long, t (B,) or a float: each entry
        keeps x_0 with probability ᾱ_t, else takes a fresh draw from m (one uniform per entry, so
        t = 0 is exactly the identity and t = 1 exactly a draw from m)."""
        ab = _per_sample(self.alpha_bar(t), x0)
        u = torch.rand(x0.shape, generator=generator, dtype=torch.float64).to(x0.device)
        keep = u < ab
        fresh = _draw(self._m.to(x0.device), ((u - ab) / (1 - ab).clamp_min(_TINY)).clamp(0, 1))
        return torch.where(keep, x0, fresh).long()

    def loss(
        self,
        logits: Tensor,
        x0: Tensor,
        mask: Tensor | None = None,
        sample_weight: Tensor | None = None,
    ) -> Tensor:
        """Cross-entropy of logits (B, ..., K) against x0 (B, ...), averaged over the entries where
        mask (B, ...) is True (all when None), each sample's terms scaled by sample_weight (B,)
        (the mean still divides by the number of entries). DiGress trains nodes and edges with
        one call each (edges weighted by λ); for "absorbing", mask = (x_t == mask_index) gives
        MDLM's loss on the masked entries only."""
        k = self.num_classes
        if logits.shape != (*x0.shape, k):
            raise ValueError(
                f"logits {tuple(logits.shape)} do not match x0 {tuple(x0.shape)} × {k}"
            )
        nll = F.cross_entropy(
            logits.reshape(-1, k).float(), x0.reshape(-1).long(), reduction="none"
        )
        nll = nll.reshape(x0.shape)
        if sample_weight is not None:
            nll = nll * sample_weight.float().reshape(-1, *([1] * (x0.dim() - 1)))
        if mask is None:
            return nll.mean()
        w = mask.float()
        return (nll * w).sum() / w.sum().clamp_min(1.0)

    def _likelihood(self, x_t: Tensor, alpha_bar: Tensor, dtype: torch.dtype) -> tuple[Tensor, ...]:
        """(q(x_t | x_0 = k) over k (B, ..., K), onehot(x_t), m[x_t] (B, ..., 1), m (K,))."""
        m = self._m.to(x_t.device, dtype)
        onehot = F.one_hot(x_t.long(), self.num_classes).to(dtype)
        m_i = m[x_t.long()][..., None]
        return alpha_bar * onehot + (1 - alpha_bar) * m_i, onehot, m_i, m

    @staticmethod
    def _compatible(x0_probs: Tensor, likelihood: Tensor) -> Tensor:
        """x0_probs (B, ..., K) restricted to the classes that can produce x_t (likelihood > 0)
        and renormalised; uniform over those classes where x0_probs gives them no mass."""
        ok = (likelihood > 0).to(likelihood.dtype)
        pi = x0_probs.to(likelihood.dtype).clamp_min(0) * ok
        total = pi.sum(-1, keepdim=True)
        fallback = ok / ok.sum(-1, keepdim=True).clamp_min(1)
        return torch.where(total > 0, pi / total.clamp_min(_TINY), fallback)

    def posterior(
        self, x_t: Tensor, x0_probs: Tensor, t: Tensor | float, s: Tensor | float
    ) -> Tensor:
        """p(x_s | x_t) (B, ..., K) = Σ_k p̂_k q(x_s | x_t, x_0 = k) for 0 ≤ s < t ≤ 1.

        x_t (B, ...) long; x0_probs (B, ..., K) the predicted p̂(x_0 | x_t); t, s (B,) or floats.
        Classes k with q(x_t | x_0 = k) = 0 get no weight (p̂ is renormalised over the rest).
        Computed in the closed form ``q(x_t | x_s = j) · Σ_k w_k q(x_s = j | x_0 = k)`` with
        ``w_k = p̂_k / q(x_t | x_0 = k)``: O(K) per entry, no K × K matrices; it sums to 1
        without renormalisation.
        """
        dtype = x0_probs.dtype if x0_probs.is_floating_point() else torch.float32
        ab_t = _per_sample(self.alpha_bar(t), x0_probs).to(dtype)
        ab_s = _per_sample(self.alpha_bar(s), x0_probs).to(dtype)
        lik, onehot, m_i, m = self._likelihood(x_t, ab_t, dtype)
        pi = self._compatible(x0_probs, lik)
        w = torch.where(lik > 0, pi / lik.clamp_min(_TINY), torch.zeros_like(pi))
        a = ab_t / ab_s.clamp_min(_TINY)  # ᾱ_{t|s}
        to_t = a * onehot + (1 - a) * m_i  # q(x_t | x_s = j)
        from_0 = ab_s * w + (1 - ab_s) * m * w.sum(-1, keepdim=True)  # Σ_k w_k q(x_s = j | k)
        return to_t * from_0

    def dfm_rates(
        self,
        x_t: Tensor,
        x0_probs: Tensor,
        t: Tensor | float,
        eta: float = 0.0,
        omega: float = 0.0,
    ) -> Tensor:
        """E_{p̂(x_0 | x_t)}[R* + R^DB + R^ω](x_t → j | x_0) (B, ..., K), rates per unit of
        κ = ᾱ(t) towards the data (0 at j = x_t); x_t (B, ...) long, x0_probs (B, ..., K)."""
        dtype = x0_probs.dtype if x0_probs.is_floating_point() else torch.float32
        kappa = _per_sample(self.alpha_bar(t), x0_probs).to(dtype)
        lik, onehot, m_i, m = self._likelihood(x_t, kappa, dtype)
        pi = self._compatible(x0_probs, lik)
        positive = (m > 0).to(dtype)
        support = positive.sum() + (1 - positive)  # |S_k| = #{m > 0} + [m_k = 0]   (K,)
        # R* vanishes for x_0 = x_t; for x_0 = k ≠ i it jumps to k with 1 − m_k + m_i and to
        # every other j with m_j > 0 with ReLU(m_i − m_j), over |S_k| · (1 − κ) · m_i.
        c = pi * (1 - onehot) / support
        gap = F.relu(m_i - m) * positive
        numer = c * (1 - m + m_i + omega) + gap * (c.sum(-1, keepdim=True) - c)
        denom = (1 - kappa) * m_i
        rates = torch.where(denom > 0, numer / denom.clamp_min(_TINY), torch.zeros_like(numer))
        if eta > 0:
            rates = rates + eta * (kappa * pi + (1 - kappa) * m)  # E[p(j | x_0)], on the support
        return rates * (1 - onehot)

    def dfm_step(
        self,
        x_t: Tensor,
        x0_probs: Tensor,
        t: Tensor | float,
        s: Tensor | float,
        eta: float = 0.0,
        omega: float = 0.0,
    ) -> Tensor:
        """Distribution (B, ..., K) of x_s after one Euler step of the DFM rates from t to s < t."""
        rates = self.dfm_rates(x_t, x0_probs, t, eta, omega)
        d_kappa = _per_sample(self.alpha_bar(s) - self.alpha_bar(t), rates).to(rates.dtype)
        move = d_kappa * rates
        total = move.sum(-1, keepdim=True)
        move = torch.where(total > 1, move / total.clamp_min(_TINY), move)
        stay = (1 - move.sum(-1, keepdim=True)).clamp_min(0)
        return move + stay * F.one_hot(x_t.long(), self.num_classes).to(move.dtype)

    def x0_probs(self, logits: Tensor) -> Tensor:
        """p̂(x_0 | x_t) (B, ..., K) float64 from network logits; for "absorbing" the mask state
        gets probability 0 (data never takes it)."""
        logits = logits.double()
        if self.config.transition == "absorbing":
            logits = logits.index_fill(
                -1, torch.tensor([self.mask_index], device=logits.device), -math.inf
            )
        return logits.softmax(-1)

    def sample(
        self,
        denoise_fn: Callable[[Tensor, Tensor], Tensor],
        shape: tuple[int, ...],
        steps: int,
        seed: int = 0,
        *,
        sampler: str = "ancestral",
        eta: float = 0.0,
        omega: float = 0.0,
        grid: str = "uniform",
        project: Callable[[Tensor], Tensor] | None = None,
        device: Any = "cpu",
    ) -> Tensor:
        """Samples x_0 (*shape) long from t = 1 to 0.

        denoise_fn(x_t (B, ...) long, t (B,) float32) → logits (B, ..., K) of p̂(x_0 | x_t).
        sampler: "ancestral" or "dfm" (eta: DeFoG's stochasticity η ≥ 0, omega: its target
        guidance ω ≥ 0, both dfm only). grid: one of TIME_GRIDS.
        project: applied to every drawn state (B, ...) → (B, ...), e.g. mirroring the upper
            triangle of an edge state so it stays symmetric, or resetting given entries.
        Sample i depends on seed + i only.
        """
        (x,) = sample_categorical(
            (self,),
            lambda xs, t: (denoise_fn(xs[0], t),),
            (shape,),
            steps,
            seed,
            sampler=sampler,
            eta=eta,
            omega=omega,
            grid=grid,
            project=None if project is None else lambda xs: (project(xs[0]),),
            device=device,
        )
        return x


@torch.no_grad()
def sample_categorical(
    processes: Sequence[CategoricalDiffusion],
    denoise_fn: Callable[[tuple[Tensor, ...], Tensor], Sequence[Tensor]],
    shapes: Sequence[tuple[int, ...]],
    steps: int,
    seed: int = 0,
    *,
    sampler: str = "ancestral",
    eta: float = 0.0,
    omega: float = 0.0,
    grid: str = "uniform",
    project: Callable[[tuple[Tensor, ...]], tuple[Tensor, ...]] | None = None,
    device: Any = "cpu",
    start: Sequence[Tensor] | None = None,
    t_start: float = 1.0,
) -> tuple[Tensor, ...]:
    """Jointly sample several categorical states that share t and one network (DiGress's node
    and edge types): state n has shape shapes[n] (B, ...) under processes[n].

    denoise_fn(states, t (B,) float32) → one logits tensor (B, ..., K_n) per state.
    project(states) → states is applied to every drawn tuple of states. start: the states at
    t_start (e.g. data corrupted to t_start, SDEdit-style: the grid then runs from t_start to 0);
    default: drawn from the limit at t_start = 1. Sample i's randomness
    comes from generators seeded seed + i (start) and STEP_SEED_OFFSET + seed + i (steps), drawn
    in a fixed order over the states, so it depends on seed + i only.
    """
    if sampler not in CATEGORICAL_SAMPLERS:
        raise ConfigError(
            f"unknown sampler {sampler!r}; choose one of {', '.join(CATEGORICAL_SAMPLERS)}"
        )
    if steps < 1:
        raise ConfigError(f"--steps must be ≥ 1, got {steps}")
    if eta < 0 or (eta > 0 and sampler != "dfm"):
        raise ConfigError(f"eta={eta}: the stochasticity η ≥ 0 applies to sampler='dfm' only")
    if omega < 0 or (omega > 0 and sampler != "dfm"):
        raise ConfigError(f"omega={omega}: target guidance ω ≥ 0 applies to sampler='dfm' only")
    if len(processes) != len(shapes) or not shapes:
        raise ValueError(f"{len(processes)} processes for {len(shapes)} state shapes")
    batch = shapes[0][0]
    if any(shape[0] != batch for shape in shapes):
        raise ValueError(f"state shapes {list(shapes)} do not share one batch size")
    if not 0.0 < t_start <= 1.0:
        raise ConfigError(f"t_start={t_start}: expected 0 < t_start <= 1")
    noise = [torch.Generator().manual_seed(STEP_SEED_OFFSET + seed + i) for i in range(batch)]
    if start is None:
        first = [torch.Generator().manual_seed(seed + i) for i in range(batch)]
        states = tuple(
            _draw(p.limit(), _uniforms(first, tuple(shape[1:]))).to(device)
            for p, shape in zip(processes, shapes, strict=True)
        )
    else:
        states = tuple(x.to(device) for x in start)
        if [tuple(x.shape) for x in states] != [tuple(shape) for shape in shapes]:
            raise ValueError(f"start states {[tuple(x.shape) for x in states]} ≠ {list(shapes)}")
    states = project(states) if project is not None else states
    times = time_grid(steps, grid) * t_start
    for n in range(steps):
        t, s = times[n], times[n + 1]
        logits = denoise_fn(states, torch.full((batch,), float(t), device=device))
        drawn = []
        for p, x, lg in zip(processes, states, logits, strict=True):
            if lg.shape != (*x.shape, p.num_classes):
                raise ValueError(
                    f"denoise_fn returned logits {tuple(lg.shape)} for a state {tuple(x.shape)} "
                    f"of {p.num_classes} classes"
                )
            probs = p.x0_probs(lg)
            if sampler == "ancestral":
                step = p.posterior(x, probs, t, s)
            else:
                step = p.dfm_step(x, probs, t, s, eta, omega)
            drawn.append(_draw(step, _uniforms(noise, tuple(x.shape[1:])).to(device)))
        states = tuple(drawn)
        states = project(states) if project is not None else states
    return states


def time_grid(steps: int, grid: str = "uniform") -> Tensor:
    """(steps + 1,) float64 sampling times from 1 to 0 (see the module docstring's grids)."""
    if grid not in TIME_GRIDS:
        raise ConfigError(f"unknown time grid {grid!r}; choose one of {', '.join(TIME_GRIDS)}")
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    if grid == "polydec":
        t = (1 - u) ** 2
    elif grid == "polyinc":
        t = 1 - u**2
    elif grid == "cos":
        t = (1 + torch.cos(math.pi * u)) / 2
    else:
        t = 1 - u
    t[0], t[-1] = 1.0, 0.0  # exact ends whatever the rounding
    return t
