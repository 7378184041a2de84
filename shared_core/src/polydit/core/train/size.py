"""The DiT size of a training run: a named preset of the domain's, whose hidden width, depth and
head count a run may each override (``--config {"preset": "small", "depth": 4}``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from polydit.core.errors import ConfigError
from polydit.core.train.recipe import TrainSpec

Presets = Mapping[str, Mapping[str, int]]
"""A domain's named sizes: preset name → {"hidden": ..., "depth": ..., "heads": ...}."""


@dataclass(frozen=True)
class SizedTrainSpec(TrainSpec):
    """A TrainSpec with the DiT size fields. A subclass sets `presets` (its size table) and the
    default `preset`; `hidden`, `depth`, `heads` replace the preset's value when set."""

    presets: ClassVar[Presets] = {}
    preset: str = ""
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None

    def dit_size(self) -> dict[str, int]:
        """{"hidden", "depth", "heads"} of ``presets[preset]``, each overridden when set."""
        if self.preset not in self.presets:
            names = ", ".join(self.presets)
            raise ConfigError(f"unknown preset {self.preset!r}; choose one of {names}")
        size = dict(self.presets[self.preset])
        for name in ("hidden", "depth", "heads"):
            value = getattr(self, name)
            if value is not None:
                if value < 1:
                    raise ConfigError(f"{name}={value}: expected a positive integer or null")
                size[name] = value
        return size
