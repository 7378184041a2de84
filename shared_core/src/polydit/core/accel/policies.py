"""Cache policies: which blocks to compute at each network evaluation, and what to reuse.

Every policy keeps its state per CFG branch (see :class:`~polydit.core.accel.CachedDenoiser`)
and counts evaluations itself, so Heun's two evaluations per step are two evaluations here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from polydit.core.accel import features as F
from polydit.core.errors import ConfigError
from polydit.core.nn.attention import attend
from polydit.core.nn.blocks import BlockInputs, DiTBlock, modulate
from polydit.core.sampling.context import StepContext


@dataclass
class BranchState:
    """Per-branch memory of a policy: evaluation count and whatever the policy stores."""

    calls: int = 0
    store: dict[str, Any] = field(default_factory=dict)


@dataclass
class Usage:
    """Block evaluations actually computed vs what the uncached model would compute."""

    computed: int = 0
    total: int = 0

    @property
    def fraction(self) -> float:
        return self.computed / self.total if self.total else 1.0

    def add(self, other: Usage) -> None:
        """Accumulate another run's counts into this one."""
        self.computed += other.computed
        self.total += other.total


class CachePolicy(ABC):
    """Runs the list of blocks for one evaluation; may reuse or forecast block outputs."""

    @abstractmethod
    def run(
        self,
        blocks: nn.ModuleList,
        h: Tensor,
        inputs: BlockInputs,
        ctx: StepContext,
        state: BranchState,
        usage: Usage,
    ) -> Tensor:
        """h (B, L, D) in → (B, L, D) out, as ``for b in blocks: h = b(h, inputs)`` would."""


def _compute_all(
    blocks: nn.ModuleList, h: Tensor, inputs: BlockInputs, usage: Usage
) -> tuple[Tensor, list[F.Features]]:
    feats = []
    for block in blocks:
        h, f = F.compute(block, h, inputs)
        feats.append(f)
    usage.computed += len(blocks)
    usage.total += len(blocks)
    return h, feats


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"--cache-opts {name}={value}: expected a positive value")


@dataclass
class Fora(CachePolicy):
    """FORA (Selvaraju et al. 2024): compute every block at every `interval`-th evaluation and
    reuse each block's attention/MLP features in between. interval = 1 is the uncached model."""

    interval: int = 2

    def __post_init__(self) -> None:
        _positive("interval", self.interval)

    def run(self, blocks, h, inputs, ctx, state, usage):
        if state.calls % self.interval == 0 or "feats" not in state.store:
            h, state.store["feats"] = _compute_all(blocks, h, inputs, usage)
            return h
        usage.total += len(blocks)
        for block, f in zip(blocks, state.store["feats"], strict=True):
            h = F.reuse(block, h, inputs, f)
        return h


@dataclass
class DeltaDiT(CachePolicy):
    """Δ-DiT (Chen et al. 2024): cache the *deviation* a group of blocks adds. Early in sampling
    (the first `boundary` fraction of steps, where outlines form) the rear blocks are cached;
    later (details) the front blocks. `split` is the number of front blocks (default half);
    the cache is refreshed every `interval` evaluations."""

    interval: int = 2
    boundary: float = 0.5
    split: int = 0

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if not 0 <= self.boundary <= 1:
            raise ConfigError(
                f"--cache-opts boundary={self.boundary}: expected a fraction in [0, 1]"
            )

    def run(self, blocks, h, inputs, ctx, state, usage):
        split = self.split or len(blocks) // 2
        if not 0 < split < len(blocks):
            raise ConfigError(f"--cache-opts split={split}: expected 1..{len(blocks) - 1}")
        front, rear = blocks[:split], blocks[split:]
        if state.calls % self.interval == 0 or "front" not in state.store:
            mid = h
            for b in front:
                mid = b(mid, inputs)
            out = mid
            for b in rear:
                out = b(out, inputs)
            state.store["front"], state.store["rear"] = mid - h, out - mid
            usage.computed += len(blocks)
            usage.total += len(blocks)
            return out
        usage.total += len(blocks)
        early = ctx.index < self.boundary * ctx.num_steps
        if early:  # compute the front (outline) blocks, reuse the rear deviation
            for b in front:
                h = b(h, inputs)
            usage.computed += len(front)
            return h + state.store["rear"]
        h = h + state.store["front"]
        for b in rear:
            h = b(h, inputs)
        usage.computed += len(rear)
        return h


@dataclass
class TaylorSeer(CachePolicy):
    """TaylorSeer (Liu et al. 2025): forecast each block's attention/MLP features from the last
    `order` + 1 fully computed evaluations. We extrapolate with Newton's divided differences in t,
    which is exact for features that are polynomials of degree ≤ `order` in t (the paper's
    backward-difference Taylor series equals it at order 1). Full computation every `interval`
    evaluations and for the first `warmup` (≥ order + 1 gives a full history)."""

    order: int = 1
    interval: int = 3
    warmup: int = 0

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if self.order < 0:
            raise ConfigError(f"--cache-opts order={self.order}: expected ≥ 0")

    def run(self, blocks, h, inputs, ctx, state, usage):
        history: list[tuple[float, list[F.Features]]] = state.store.setdefault("history", [])
        warmup = max(self.warmup, 1)
        if state.calls < warmup or state.calls % self.interval == 0 or not history:
            h, feats = _compute_all(blocks, h, inputs, usage)
            # Heun evaluates t_{i+1} twice; keep one entry per time (the later), else the
            # divided differences divide by zero
            history[:] = [entry for entry in history if entry[0] != ctx.t]
            history.append((ctx.t, feats))
            del history[: -(self.order + 1)]
            times = [t for t, _ in history]
            # the forecast polynomial changes only here: its coefficients once, not every call
            state.store["coeffs"] = [
                tuple(
                    newton_coefficients(times, [f[i][j] for _, f in history])
                    for j in range(len(feats[i]))
                )
                for i in range(len(blocks))
            ]
            return h
        usage.total += len(blocks)
        times = [t for t, _ in history]
        for block, coeffs in zip(blocks, state.store["coeffs"], strict=True):
            forecast = tuple(newton_evaluate(times, c, ctx.t) for c in coeffs)
            h = F.reuse(block, h, inputs, forecast)
        return h


def newton_coefficients(times: list[float], values: list[Tensor]) -> list[Tensor]:
    """Newton divided differences [f[t0], f[t0,t1], ...] of the points (times[i], values[i])."""
    coeffs = list(values)
    n = len(times)
    for level in range(1, n):
        for i in range(n - 1, level - 1, -1):
            coeffs[i] = (coeffs[i] - coeffs[i - 1]) / (times[i] - times[i - level])
    return coeffs


def newton_evaluate(times: list[float], coeffs: list[Tensor], t: float) -> Tensor:
    """The Newton-form polynomial with `coeffs` at `t` (Horner; one fused op per degree)."""
    out = coeffs[-1]
    for i in range(len(coeffs) - 2, -1, -1):
        out = torch.add(coeffs[i], out, alpha=t - times[i])
    return out


def newton_extrapolate(times: list[float], values: list[Tensor], t: float) -> Tensor:
    """Evaluate at `t` the polynomial through (times[i], values[i]) (Newton's divided differences)."""
    return newton_evaluate(times, newton_coefficients(times, values), t)


@dataclass
class FirstBlockCache(CachePolicy):
    """Adaptive reuse (FBCache / TeaCache style): always compute the first block; if its residual
    changed by less than `threshold` (relative L1 to the last fully computed evaluation), reuse
    the remaining blocks' total residual, else compute them and refresh it. threshold = 0 is the
    uncached model."""

    threshold: float = 0.1

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ConfigError(f"--cache-opts threshold={self.threshold}: expected ≥ 0")

    def run(self, blocks, h, inputs, ctx, state, usage):
        first = blocks[0](h, inputs)
        residual = first - h
        usage.total += len(blocks)
        previous = state.store.get("first")
        if previous is not None and self.threshold > 0:
            change = (residual - previous).abs().mean() / previous.abs().mean().clamp_min(1e-12)
            if change.item() < self.threshold:
                usage.computed += 1
                return first + state.store["rest"]
        out = first
        for b in blocks[1:]:
            out = b(out, inputs)
        usage.computed += len(blocks)
        state.store["first"], state.store["rest"] = residual, out - first
        return out


@dataclass
class RegionAdaptive(CachePolicy):
    """RAS (Liu et al. 2025): between full evaluations (every `interval`), recompute only the
    `ratio` fraction of tokens whose output changed most between the last two evaluations; the
    others keep their last output. Recomputed tokens attend to every token, using the keys and
    values cached for the rest. DiT blocks only (MM-DiT joint blocks run in full)."""

    ratio: float = 0.5
    interval: int = 4

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if not 0 < self.ratio <= 1:
            raise ConfigError(f"--cache-opts ratio={self.ratio}: expected a fraction in (0, 1]")

    def run(self, blocks, h, inputs, ctx, state, usage):
        store, n = state.store, h.shape[1]
        partial = (
            state.calls % self.interval != 0
            and "change" in store
            and inputs.num_context == 0
            and all(isinstance(b, DiTBlock) for b in blocks)
        )
        usage.total += len(blocks)
        if not partial:
            kv, out = [], h
            for block in blocks:
                if isinstance(block, DiTBlock):
                    out, keys_values = _block_with_kv(block, out, inputs)
                else:  # joint blocks always run in full
                    out, keys_values = block(out, inputs), None
                kv.append(keys_values)
            usage.computed += len(blocks)
        else:
            k = max(1, round(self.ratio * n))
            index = store["change"].topk(k, dim=1).indices  # (B, k)
            x = _take(h, index)
            kv = store["kv"]
            for i, block in enumerate(blocks):
                x, kv[i] = _block_on_tokens(block, x, inputs, index, kv[i])
            out = store["out"].scatter(1, index[..., None].expand_as(x), x)
            usage.computed += len(blocks) * k / n
        if "out" in store:
            store["change"] = (out - store["out"]).norm(dim=-1)  # (B, N)
        store["out"], store["kv"] = out, kv
        return out


def _take(x: Tensor, index: Tensor, dim: int = 1) -> Tensor:
    """x gathered at token indices (B, k) along `dim` (all later dims kept)."""
    shape = [1] * x.dim()
    shape[0], shape[dim] = index.shape
    expand = list(x.shape)
    expand[dim] = index.shape[1]
    return x.gather(dim, index.view(shape).expand(expand))


def _block_with_kv(
    block: DiTBlock, h: Tensor, inputs: BlockInputs
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """`block(h, inputs)` exactly, also returning its attention keys and values (B, H, N, Dh)."""
    shift1, scale1, gate1, shift2, scale2, gate2 = block.modulation(inputs)
    q, k, v = block.attn.project(modulate(block.norm1(h), shift1, scale1), inputs.rope)
    x = h + gate1 * block.attn.proj(attend(q, k, v, mask=inputs.mask, bias=inputs.bias))
    return x + gate2 * block.mlp_branch(x, shift2, scale2, inputs), (k, v)


def _block_on_tokens(
    block: DiTBlock, x: Tensor, inputs: BlockInputs, index: Tensor, kv: tuple[Tensor, Tensor]
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Run `block` for the tokens at `index` (B, k) only; x (B, k, D). The keys/values of the
    other tokens come from `kv`; the recomputed ones are written back into it."""
    mods = [m if m.shape[1] == 1 else _take(m, index) for m in block.modulation(inputs)]
    shift1, scale1, gate1, shift2, scale2, gate2 = mods
    rope = None if inputs.rope is None else tuple(_take(r, index, dim=2) for r in inputs.rope)
    q, k_new, v_new = block.attn.project(modulate(block.norm1(x), shift1, scale1), rope)
    where = index[:, None, :, None].expand_as(k_new)
    keys, values = kv[0].scatter(2, where, k_new), kv[1].scatter(2, where, v_new)
    bias = None if inputs.bias is None else _take(inputs.bias, index, dim=2)
    x = x + gate1 * block.attn.proj(attend(q, keys, values, mask=inputs.mask, bias=bias))
    sub = BlockInputs(c=inputs.c, slot=None if inputs.slot is None else _take(inputs.slot, index))
    return x + gate2 * block.mlp_branch(x, shift2, scale2, sub), (keys, values)


POLICIES: dict[str, type[CachePolicy]] = {
    "fora": Fora,
    "delta": DeltaDiT,
    "taylorseer": TaylorSeer,
    "firstblock": FirstBlockCache,
    "ras": RegionAdaptive,
}


def build_policy(name: str, options: dict[str, Any] | None = None) -> CachePolicy | None:
    """The policy `name` ("none" → None) with `options` (strings are converted to the field types)."""
    if name == "none":
        if options:
            raise ConfigError("--cache-opts given without a --cache")
        return None
    if name not in POLICIES:
        raise ConfigError(f"unknown cache {name!r}; choose one of none, {', '.join(POLICIES)}")
    cls = POLICIES[name]
    fields = {f: type(getattr(cls(), f)) for f in cls.__dataclass_fields__}
    kwargs = {}
    for key, value in (options or {}).items():
        if key not in fields:
            raise ConfigError(
                f"--cache-opts {key}: not an option of {name}; options: {', '.join(fields)}"
            )
        try:
            kwargs[key] = fields[key](value)
        except ValueError:
            raise ConfigError(
                f"--cache-opts {key}={value!r}: expected {fields[key].__name__}"
            ) from None
    return cls(**kwargs)
