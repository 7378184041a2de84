"""Generative processes with ONE time convention: t ∈ [0, 1], t = 0 is data, t = 1 is noise.

Every continuous process here is an affine path ``x_t = alpha(t) x_0 + sigma(t) eps`` and
differs only in its schedule, its t-sampling and what the network predicts.
:class:`CategoricalDiffusion` is the discrete-state process (class indices, t = 1 its limit
distribution) with its own config and samplers; it is not in ``PROCESSES``.
"""

from polydit.core.errors import ConfigError
from polydit.core.process.base import AffineProcess, ProcessConfig
from polydit.core.process.categorical import (
    CATEGORICAL_SAMPLERS,
    TIME_GRIDS,
    CategoricalConfig,
    CategoricalDiffusion,
    class_frequencies,
    sample_categorical,
    time_grid,
)
from polydit.core.process.flow_matching import FlowMatching
from polydit.core.process.gaussian import GaussianDiffusion

#: ``ProcessConfig.kind`` → the process class it selects.
PROCESSES: dict[str, type[AffineProcess]] = {
    "flow_matching": FlowMatching,
    "gaussian": GaussianDiffusion,
}


def build_process(config: ProcessConfig) -> AffineProcess:
    """The process a config describes (``PROCESSES[config.kind]``)."""
    if config.kind not in PROCESSES:
        raise ConfigError(f"ProcessConfig.kind={config.kind!r}; expected one of {tuple(PROCESSES)}")
    return PROCESSES[config.kind](config)


__all__ = [
    "CATEGORICAL_SAMPLERS",
    "PROCESSES",
    "TIME_GRIDS",
    "AffineProcess",
    "CategoricalConfig",
    "CategoricalDiffusion",
    "FlowMatching",
    "GaussianDiffusion",
    "ProcessConfig",
    "build_process",
    "class_frequencies",
    "sample_categorical",
    "time_grid",
]
