"""Samplers, classifier-free guidance (labels/context and given tokens) and the StepContext accelerators hook into."""

from polydit.core.sampling.context import Denoiser, StepContext
from polydit.core.sampling.denoiser import (
    ClassifierFreeGuidance,
    GivenGuidance,
    ModelDenoiser,
    SelfConditioning,
)
from polydit.core.sampling.samplers import SAMPLER_NAMES, SAMPLERS, StepNoise, sample, time_grid

__all__ = [
    "SAMPLERS",
    "SAMPLER_NAMES",
    "ClassifierFreeGuidance",
    "Denoiser",
    "GivenGuidance",
    "ModelDenoiser",
    "SelfConditioning",
    "StepContext",
    "StepNoise",
    "sample",
    "time_grid",
]
