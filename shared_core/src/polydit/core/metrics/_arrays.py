"""Input conversion and shape checks shared by the metric modules.

Every metric accepts numpy arrays or torch tensors. These helpers turn an input into a float64
numpy array or tensor and raise :class:`~polydit.core.errors.ConfigError` naming the argument and
the expected shape when it does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import torch

from polydit.core.errors import ConfigError

ArrayLike: TypeAlias = np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]


def as_numpy(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 numpy array (torch tensors are detached and moved to the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(device="cpu", dtype=torch.float64).numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name}: expected a numeric array or tensor ({err})") from err


def as_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    """``x`` as a float64 torch tensor; tensors keep their device, numpy input lands on the CPU."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype=torch.float64)
    return torch.from_numpy(as_numpy(x, name))


def check_shape(x: np.ndarray | torch.Tensor, name: str, expected: str, ndim: int) -> None:
    """Raise unless ``x`` has ``ndim`` dimensions and no empty axis; ``expected`` names the axes."""
    shape = tuple(x.shape)
    if len(shape) != ndim:
        raise ConfigError(f"{name}: expected shape {expected}, got shape {shape}")
    if any(size == 0 for size in shape):
        raise ConfigError(f"{name}: expected a non-empty array of shape {expected}, got {shape}")


def check_finite(x: np.ndarray | torch.Tensor, name: str) -> None:
    """Raise if ``x`` holds NaN or infinite entries."""
    finite = torch.isfinite(x).all().item() if isinstance(x, torch.Tensor) else np.isfinite(x).all()
    if not finite:
        raise ConfigError(f"{name}: expected finite values, found NaN or inf")


def features(x: ArrayLike, name: str, min_rows: int = 1) -> np.ndarray:
    """A finite float64 feature matrix of shape (N, D) with ``N >= min_rows``."""
    arr = as_numpy(x, name)
    check_shape(arr, name, "(N, D)", ndim=2)
    if arr.shape[0] < min_rows:
        raise ConfigError(
            f"{name}: expected at least {min_rows} rows (samples), got {arr.shape[0]}"
        )
    check_finite(arr, name)
    return arr


def feature_tensor(x: ArrayLike, name: str, min_rows: int = 1) -> torch.Tensor:
    """Like :func:`features` but as a float64 tensor (device kept for tensor input)."""
    t = as_tensor(x, name)
    check_shape(t, name, "(N, D)", ndim=2)
    if t.shape[0] < min_rows:
        raise ConfigError(f"{name}: expected at least {min_rows} rows (samples), got {t.shape[0]}")
    check_finite(t, name)
    return t


def same_dim(
    a: np.ndarray | torch.Tensor, name_a: str, b: np.ndarray | torch.Tensor, name_b: str
) -> None:
    """Raise unless the feature dimension (last axis) of ``a`` and ``b`` agrees."""
    if a.shape[-1] != b.shape[-1]:
        raise ConfigError(
            f"{name_b}: expected feature dimension {a.shape[-1]} (as in {name_a}), "
            f"got {b.shape[-1]}"
        )


def positive(value: float, name: str) -> float:
    """``value`` as a float, raising unless it is finite and > 0."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: expected a finite value > 0, got {value}")
    return value
