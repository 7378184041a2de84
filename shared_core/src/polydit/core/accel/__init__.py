"""Accelerators: denoiser wrappers driven by the sampler's StepContext — the training-free caches
and E-DiT's learned routers (:mod:`.elastic`, trained briefly on top of a frozen model).

They work on the DiT's plain list of blocks (no registry, no monkey-patching) and keep separate
state per classifier-free-guidance branch. ``--cache NAME --cache-opts key=value`` selects one
of :data:`CACHES` (each method in its own module; the shared base in :mod:`.base`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from polydit.core.accel.base import CacheMethod, Usage
from polydit.core.accel.delta import DeltaDiT
from polydit.core.accel.denoiser import CachedDenoiser
from polydit.core.accel.elastic import ElasticCache, ElasticConfig, ElasticRouters, train_routers
from polydit.core.accel.experts import ExpertCache
from polydit.core.accel.firstblock import FirstBlockCache
from polydit.core.accel.fora import Fora
from polydit.core.accel.ras import RegionAdaptive
from polydit.core.accel.taylorseer import TaylorSeer, newton_extrapolate
from polydit.core.errors import ConfigError

CACHES: dict[str, type[CacheMethod]] = {
    "fora": Fora,
    "delta": DeltaDiT,
    "taylorseer": TaylorSeer,
    "firstblock": FirstBlockCache,
    "ras": RegionAdaptive,
    "elastic": ElasticCache,
}

CACHE_NAMES = ("none", *CACHES)


def build_cache(name: str, options: dict[str, Any] | None = None) -> CacheMethod | None:
    """The cache method `name` ("none" → None) with `options` (strings are converted to the
    field types)."""
    if name == "none":
        if options:
            raise ConfigError("--cache-opts given without a --cache")
        return None
    if name not in CACHES:
        raise ConfigError(f"unknown cache {name!r}; choose one of none, {', '.join(CACHES)}")
    cls = CACHES[name]
    fields = {f.name: type(f.default) for f in dataclasses.fields(cls) if f.init}
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


__all__ = [
    "CACHES",
    "CACHE_NAMES",
    "CacheMethod",
    "CachedDenoiser",
    "DeltaDiT",
    "ElasticCache",
    "ElasticConfig",
    "ElasticRouters",
    "ExpertCache",
    "FirstBlockCache",
    "Fora",
    "RegionAdaptive",
    "TaylorSeer",
    "Usage",
    "build_cache",
    "newton_extrapolate",
    "train_routers",
]
