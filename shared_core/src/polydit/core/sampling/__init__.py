"""Samplers, classifier-free guidance and the StepContext accelerators hook into."""

from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.sampling.denoiser import ClassifierFreeGuidance, ModelDenoiser
from polydit.core.sampling.samplers import SAMPLER_NAMES, SAMPLERS, sample, time_grid

__all__ = [
    "SAMPLERS",
    "SAMPLER_NAMES",
    "ClassifierFreeGuidance",
    "Denoiser",
    "ModelDenoiser",
    "StepContext",
    "sample",
    "time_grid",
]
