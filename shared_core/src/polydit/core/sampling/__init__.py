"""Samplers, classifier-free guidance and the StepContext accelerators hook into."""

from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.sampling.denoiser import ClassifierFreeGuidance, ModelDenoiser, SelfConditioning
from polydit.core.sampling.samplers import SAMPLER_NAMES, SAMPLERS, StepNoise, sample, time_grid

__all__ = [
    "SAMPLERS",
    "SAMPLER_NAMES",
    "ClassifierFreeGuidance",
    "Denoiser",
    "ModelDenoiser",
    "SelfConditioning",
    "StepContext",
    "StepNoise",
    "sample",
    "time_grid",
]
