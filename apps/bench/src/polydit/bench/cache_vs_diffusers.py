"""Our caches next to diffusers' cache hooks, on the same DiT-S/2 weights, in one run.

Both models hold the same weights (diffusers' ``DiTTransformer2DModel`` and its exact port to
our DiT, see :mod:`polydit.bench.diffusers_port`) and run the same sampler: DDIM (η = 0) over
DiT's linear β schedule (1e-4 … 0.02, 1000 steps), class-conditional with classifier-free
guidance as two calls per step (cond, then uncond with the null class). diffusers' hooks see the
branch through their cache context (the name ``"cond"``/``"uncond"`` and the step index, what
``CacheMixin.cache_context`` sets); ours through the sampler's ``StepContext``.

For every configuration: wall time of the whole sampling loop, speedup against the same
library's uncached loop, and the relative L2 error of the final latents against it.

The weights are random (no pretrained DiT can be downloaded here), drawn as the port check draws
them, so the errors say how far each cache drifts on a DiT of this architecture, not how an
image would look.

    uv run --group bench python -m polydit.bench.cache_vs_diffusers
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.bench.diffusers_port import (
    DIT_S2,
    TINY,
    PortConfig,
    build_diffusers_dit,
    patch_positions,
    patchify,
    ported_dit,
    unpatchify,
)
from polydit.core.accel import CachedDenoiser, build_cache
from polydit.core.dit import DiT
from polydit.core.sampling.context import StepContext
from polydit.core.tokens import Cond

#: eps(x (B, C, H, W), step index, integer timestep, branch, labels (B,)) -> eps (B, C, H, W)
EpsFn = Callable[[Tensor, int, int, str, Tensor], Tensor]


@dataclass(frozen=True)
class Setting:
    """The sampling problem both libraries solve."""

    steps: int = 50
    batch: int = 2
    cfg_scale: float = 4.0
    seed: int = 0


def ddim_timesteps(steps: int) -> list[int]:
    """Integer timesteps from 999 down, evenly spaced (diffusers' "leading" spacing + offset)."""
    stride = 1000 // steps
    return [999 - i * stride for i in range(steps)]


def alphas_cumprod() -> Tensor:
    """ᾱ_t of DiT's linear schedule, t = 0..999 (float64)."""
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


@torch.no_grad()
def ddim_cfg(eps_fn: EpsFn, cfg: PortConfig, setting: Setting) -> Tensor:
    """Final latents (B, C, S, S) of guided DDIM from seeded noise; labels 0..B-1."""
    gen = torch.Generator().manual_seed(setting.seed)
    x = torch.randn(setting.batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=gen)
    labels = torch.arange(setting.batch) % cfg.num_classes
    null = torch.full_like(labels, cfg.num_classes)
    abar = alphas_cumprod()
    timesteps = ddim_timesteps(setting.steps)
    for i, t in enumerate(timesteps):
        cond = eps_fn(x, i, t, "cond", labels)
        uncond = eps_fn(x, i, t, "uncond", null)
        eps = uncond + setting.cfg_scale * (cond - uncond)
        a = abar[t].item()
        a_next = abar[timesteps[i + 1]].item() if i + 1 < len(timesteps) else 1.0
        x0 = (x - (1 - a) ** 0.5 * eps) / a**0.5
        x = a_next**0.5 * x0 + (1 - a_next) ** 0.5 * eps
    return x


def diffusers_eps(model: torch.nn.Module, cfg: PortConfig) -> EpsFn:
    """diffusers' DiT as an EpsFn; sets the hooks' cache context around every call."""
    from diffusers.hooks.hooks import CacheContext, _set_cache_context

    def eps(x: Tensor, index: int, t: int, branch: str, labels: Tensor) -> Tensor:
        _set_cache_context(model, CacheContext(branch, step_index=index, timestep=t))
        try:
            ts = torch.full((x.shape[0],), t, dtype=torch.long)
            out = model(x, timestep=ts, class_labels=labels).sample
        finally:
            _set_cache_context(model, None)
        return out[:, : cfg.in_channels]

    return eps


def our_eps(model: DiT, cfg: PortConfig, cache: str, opts: dict, setting: Setting) -> EpsFn:
    """Our ported DiT as an EpsFn, through a CachedDenoiser (plain model for cache 'none')."""
    grid, steps = cfg.sample_size // cfg.patch_size, setting.steps
    method = build_cache(cache, opts)
    pos = patch_positions(grid, grid, setting.batch)
    run = None if method is None else CachedDenoiser(model, method, pos)
    timesteps = ddim_timesteps(steps)

    def eps(x: Tensor, index: int, t: int, branch: str, labels: Tensor) -> Tensor:
        tokens = patchify(x, cfg.patch_size)
        time = torch.full((x.shape[0],), t / 1000.0, dtype=torch.float64)
        if run is None:
            out = model(tokens, time, Cond(labels=labels))
        else:
            t_next = timesteps[index + 1] / 1000.0 if index + 1 < steps else 0.0
            ctx = StepContext(index, steps, t / 1000.0, t_next, branch=branch)
            out = run(tokens.x, time, Cond(labels=labels), ctx)
        images = unpatchify(out, cfg.patch_size, cfg.sample_size, cfg.sample_size)
        return images[:, : cfg.in_channels]

    return eps


def diffusers_configs() -> dict[str, object]:
    """The diffusers hook configurations measured (name → config; None = uncached)."""
    from diffusers.hooks import FirstBlockCacheConfig, TaylorSeerCacheConfig

    blocks = [r"transformer_blocks\.\d+"]  # whole blocks: the default pattern misses DiT's attn1

    def taylor(interval: int, order: int, warmup: int) -> TaylorSeerCacheConfig:
        return TaylorSeerCacheConfig(
            cache_interval=interval,
            max_order=order,
            disable_cache_before_step=warmup,
            taylor_factors_dtype=torch.float32,
            cache_identifiers=blocks,
        )

    return {
        "none": None,
        "FirstBlockCache threshold=0.05": FirstBlockCacheConfig(threshold=0.05),
        "FirstBlockCache threshold=0.15": FirstBlockCacheConfig(threshold=0.15),
        "TaylorSeer order=1 interval=3": taylor(3, 1, 3),
        "TaylorSeer order=2 interval=4": taylor(4, 2, 4),
    }


#: Our configurations (name → (cache, opts)), matched to diffusers' where both have the method.
OURS: dict[str, tuple[str, dict]] = {
    "none": ("none", {}),
    "firstblock threshold=0.05": ("firstblock", {"threshold": 0.05}),
    "firstblock threshold=0.15": ("firstblock", {"threshold": 0.15}),
    "taylorseer order=1 interval=3": ("taylorseer", {"order": 1, "interval": 3, "warmup": 3}),
    "taylorseer order=2 interval=4": ("taylorseer", {"order": 2, "interval": 4, "warmup": 4}),
    "fora interval=3": ("fora", {"interval": 3}),
    "delta interval=3": ("delta", {"interval": 3}),
    "ras ratio=0.25 interval=4": ("ras", {"ratio": 0.25, "interval": 4}),
}


def timed(fn: Callable[[], Tensor]) -> tuple[Tensor, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def relative_error(x: Tensor, ref: Tensor) -> float:
    return ((x - ref).norm() / ref.norm()).item()


def run(cfg: PortConfig = DIT_S2, setting: Setting | None = None) -> list[dict]:
    """One row per (library, configuration): seconds, speedup and error vs uncached."""
    from diffusers.hooks import apply_first_block_cache, apply_taylorseer_cache
    from diffusers.hooks.first_block_cache import FirstBlockCacheConfig

    setting = setting or Setting()
    theirs = build_diffusers_dit(cfg)
    ours = ported_dit(theirs).eval()
    rows: list[dict] = []
    for name, config in diffusers_configs().items():
        model = copy.deepcopy(theirs)
        if isinstance(config, FirstBlockCacheConfig):
            apply_first_block_cache(model, config)
        elif config is not None:
            apply_taylorseer_cache(model, config)
        x, seconds = timed(lambda m=model: ddim_cfg(diffusers_eps(m, cfg), cfg, setting))
        rows.append({"library": "diffusers", "name": name, "x": x, "seconds": seconds})
        print(f"diffusers {name}: {seconds:.1f}s", flush=True)
    for name, (cache, opts) in OURS.items():
        eps = our_eps(ours, cfg, cache, opts, setting)
        x, seconds = timed(lambda e=eps: ddim_cfg(e, cfg, setting))
        rows.append({"library": "polydit", "name": name, "x": x, "seconds": seconds})
        print(f"polydit {name}: {seconds:.1f}s", flush=True)
    base = {r["library"]: r for r in rows if r["name"] == "none"}
    for r in rows:
        ref = base[r["library"]]
        r["speedup"] = ref["seconds"] / r["seconds"]
        r["rel_error"] = relative_error(r["x"], ref["x"])
    rows.append(
        {
            "library": "both",
            "name": "uncached polydit vs uncached diffusers",
            "rel_error": relative_error(base["polydit"]["x"], base["diffusers"]["x"]),
        }
    )
    return rows


def markdown(rows: list[dict], cfg: PortConfig, setting: Setting) -> str:
    size = f"{cfg.sample_size}×{cfg.sample_size}×{cfg.in_channels}"
    lines = [
        f"DiT depth {cfg.depth}, width {cfg.hidden}, patch {cfg.patch_size} (random weights), "
        f"DDIM {setting.steps} steps, CFG {setting.cfg_scale} as two calls per step, "
        f"batch {setting.batch}, fp32, {size} latents",
        "",
        "| library | cache | seconds | speedup | rel. L2 error vs own uncached |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["library"] == "both":
            continue
        lines.append(
            f"| {r['library']} | {r['name']} | {r['seconds']:.1f} | {r['speedup']:.2f}× "
            f"| {r['rel_error']:.2e} |"
        )
    both = rows[-1]
    lines += ["", f"{both['name']}: relative L2 difference {both['rel_error']:.1e}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="A 2-block DiT on 8×8 (smoke test).")
    parser.add_argument("--steps", type=int, default=Setting.steps)
    parser.add_argument("--batch", type=int, default=Setting.batch)
    parser.add_argument("--cfg-scale", type=float, default=Setting.cfg_scale)
    args = parser.parse_args()
    setting = Setting(steps=args.steps, batch=args.batch, cfg_scale=args.cfg_scale)
    cfg = TINY if args.tiny else DIT_S2
    print(markdown(run(cfg, setting), cfg, setting))


if __name__ == "__main__":
    main()
