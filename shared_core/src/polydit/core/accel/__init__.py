"""Training-free accelerators: denoiser wrappers driven by the sampler's StepContext.

They work on the DiT's plain list of blocks (no registry, no monkey-patching) and keep separate
state per classifier-free-guidance branch. ``--cache NAME --cache-opts key=value`` selects one.
"""

from polydit.core.accel.denoiser import CachedDenoiser
from polydit.core.accel.experts import ExpertCache
from polydit.core.accel.policies import (
    POLICIES,
    CachePolicy,
    DeltaDiT,
    FirstBlockCache,
    Fora,
    RegionAdaptive,
    TaylorSeer,
    Usage,
    build_policy,
    newton_extrapolate,
)

CACHE_NAMES = ("none", *POLICIES)

__all__ = [
    "CACHE_NAMES",
    "POLICIES",
    "CachePolicy",
    "CachedDenoiser",
    "DeltaDiT",
    "ExpertCache",
    "FirstBlockCache",
    "Fora",
    "RegionAdaptive",
    "TaylorSeer",
    "Usage",
    "build_policy",
    "newton_extrapolate",
]
