"""Checks of the Python API's plain arguments: a wrong value is our ``ConfigError`` naming the
argument, not a ``TypeError`` from deep inside torch (the CLI's flags are checked by typer
before they get here, with the same bounds)."""

from __future__ import annotations

import numbers
from typing import Any

from polydit.core.errors import ConfigError

#: sample i uses seed + i: the largest seed leaves room for 2**32 samples below torch's limit
MAX_SEED = 2**63 - 1 - 2**32


def _integer(value: Any, name: str, low: int, high: int | None, what: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
        or (high is not None and value > high)
    ):
        shown = f"{value!r} ({type(value).__name__})"
        raise ConfigError(f"{name}: expected {what}, got {shown}")
    return int(value)


def count(value: Any, name: str = "num") -> int:
    """`value` as a number of samples: an int ≥ 1."""
    return _integer(value, name, 1, None, "a whole number ≥ 1")


def seed(value: Any, name: str = "seed") -> int:
    """`value` as a seed: an int in 0 … MAX_SEED."""
    return _integer(value, name, 0, MAX_SEED, f"a whole number in 0…{MAX_SEED}")
