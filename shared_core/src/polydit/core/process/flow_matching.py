"""Flow matching on the linear (rectified-flow / conditional-OT) path."""

from __future__ import annotations

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.process.base import AffineProcess, ProcessConfig


class FlowMatching(AffineProcess):
    """``x_t = (1 - t) x0 + t eps``; the network predicts the velocity ``eps - x0`` by default.

    Sampling integrates ``dx/dt = v`` from t = 1 (noise) down to t = 0 (data).
    """

    def __init__(self, config: ProcessConfig | None = None, **overrides):
        config = config or ProcessConfig(kind="flow_matching", **overrides)
        if config.kind != "flow_matching":
            raise ConfigError(f"FlowMatching got ProcessConfig.kind={config.kind!r}")
        super().__init__(config)

    def schedule(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return 1 - t, t

    def schedule_derivative(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return -torch.ones_like(t), torch.ones_like(t)
