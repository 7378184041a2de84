"""Generative processes with ONE time convention: t ∈ [0, 1], t = 0 is data, t = 1 is noise.

Every continuous process here is an affine path ``x_t = alpha(t) x_0 + sigma(t) eps`` and
differs only in its schedule, its t-sampling and what the network predicts.
"""

from polydit.core.process.base import AffineProcess, ProcessConfig, build_process
from polydit.core.process.flow_matching import FlowMatching
from polydit.core.process.gaussian import GaussianDiffusion

__all__ = ["AffineProcess", "FlowMatching", "GaussianDiffusion", "ProcessConfig", "build_process"]
