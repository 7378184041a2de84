"""Maximum mean discrepancy (MMD²) as the graph-generation benchmarks compute it.

GraphRNN introduced, and GRAN, SPECTRE, DiGress and PARD kept, the following protocol for
comparing sets of per-graph descriptors (degree histograms, clustering histograms, orbit counts,
Laplacian spectra):

1. Each descriptor is a 1-D vector; vectors of different lengths are zero-padded at the end to
   the longest length over both sets.
2. Histograms are optionally normalised to sum 1 as ``h / (sum(h) + 1e-6)`` (``normalize=True``,
   their ``is_hist=True``); raw count vectors such as orbit counts are compared as they are.
3. A Gaussian kernel is applied to a distance between two descriptors:
   ``k(x, y) = exp(-d(x, y)² / (2 σ²))`` with ``d`` one of

   * ``gaussian``: Euclidean distance ``||x - y||₂``;
   * ``gaussian_tv``: total variation ``½ Σᵢ |xᵢ - yᵢ|`` (GRAN/SPECTRE default);
   * ``gaussian_emd``: 1-D earth mover's distance with ground distance ``|i - j| / scaling``
     between bins ``i`` and ``j`` (GraphRNN). For histograms of equal mass this is exactly
     ``Σᵢ |Fx(i) - Fy(i)| / scaling`` over the cumulative sums ``F`` (the last bin, where both
     cumulative sums equal the total mass, contributes nothing and is left out).

4. The estimator is the **biased V-statistic**::

       MMD² = mean_{i,j} k(xᵢ, xⱼ) + mean_{i,j} k(yᵢ, yⱼ) - 2 mean_{i,j} k(xᵢ, yⱼ)

   with the diagonal terms ``k(xᵢ, xᵢ) = 1`` included. This is what those papers compute (their
   ``disc`` averages the kernel over all ordered pairs), so numbers stay comparable with their
   tables. It is 0 for identical sets and biased upwards for small sets. The TV and EMD Gaussian
   kernels are not guaranteed positive definite, so MMD² can come out slightly negative; it is
   reported as computed, not clipped.

Kernels are small frozen dataclasses mapping two stacked descriptor matrices ``(N, L)`` and
``(M, L)`` to the kernel matrix ``(N, M)``; any callable with that signature can be passed as a
custom kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from polydit.core.errors import ConfigError
from polydit.core.metrics._arrays import (
    ArrayLike,
    as_numpy,
    check_finite,
    feature_tensor,
    positive,
    same_dim,
)

#: A kernel maps descriptor matrices ``(N, L)`` and ``(M, L)`` (float64) to ``(N, M)``.
Kernel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Added to a histogram's sum before normalising it, as GraphRNN/GRAN do.
HISTOGRAM_EPS = 1e-6


def euclidean_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise ``||aᵢ - bⱼ||₂``: ``(N, L)``, ``(M, L)`` → ``(N, M)``."""
    return torch.cdist(a, b, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")


def tv_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise total variation ``½ Σ |aᵢ - bⱼ|``: ``(N, L)``, ``(M, L)`` → ``(N, M)``."""
    return 0.5 * torch.cdist(a, b, p=1.0)


def emd_distances(a: torch.Tensor, b: torch.Tensor, distance_scaling: float = 1.0) -> torch.Tensor:
    """Pairwise 1-D earth mover's distance between histograms over bins ``0..L-1``.

    Ground distance between bins ``i`` and ``j`` is ``|i - j| / distance_scaling``. For two
    histograms of equal mass the optimal transport cost is ``Σ_{i<L-1} |A(i) - B(i)|`` over the
    cumulative sums ``A``, ``B``, divided by ``distance_scaling``: ``(N, L)``, ``(M, L)`` → ``(N, M)``.
    For histograms of unequal mass the same formula is used (the L1 distance between the
    cumulative sums on the support); pyemd's unequal-mass EMD differs there, which never matters
    for normalised histograms.
    """
    cum_a = torch.cumsum(a, dim=1)[:, :-1]
    cum_b = torch.cumsum(b, dim=1)[:, :-1]
    if cum_a.shape[1] == 0:  # a single bin: nothing ever moves
        return a.new_zeros(a.shape[0], b.shape[0])
    return torch.cdist(cum_a, cum_b, p=1.0) / distance_scaling


@dataclass(frozen=True)
class _GaussianOfDistance:
    """``exp(-d(x, y)² / (2σ²))`` for the subclass's distance matrix ``distances(a, b)``."""

    sigma: float = 1.0

    def __post_init__(self) -> None:
        positive(self.sigma, "sigma")

    def distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(self.distances(a, b) ** 2) / (2.0 * self.sigma**2))


@dataclass(frozen=True)
class GaussianKernel(_GaussianOfDistance):
    """``exp(-||x - y||₂² / (2σ²))`` (GraphRNN ``gaussian``; orbit counts in GraphRNN mode)."""

    def distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return euclidean_distances(a, b)


@dataclass(frozen=True)
class GaussianTVKernel(_GaussianOfDistance):
    """``exp(-TV(x, y)² / (2σ²))`` with ``TV = ½ Σ |x - y|`` (GRAN/SPECTRE ``gaussian_tv``)."""

    def distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return tv_distances(a, b)


@dataclass(frozen=True)
class GaussianEMDKernel(_GaussianOfDistance):
    """``exp(-EMD(x, y)² / (2σ²))`` with the 1-D EMD of :func:`emd_distances` (GraphRNN)."""

    distance_scaling: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        positive(self.distance_scaling, "distance_scaling")

    def distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return emd_distances(a, b, self.distance_scaling)


KERNEL_NAMES = ("gaussian", "gaussian_tv", "gaussian_emd")


def make_kernel(name: str, sigma: float = 1.0, distance_scaling: float | None = None) -> Kernel:
    """The named kernel (``gaussian``, ``gaussian_tv`` or ``gaussian_emd``) with bandwidth ``sigma``.

    ``distance_scaling`` applies to ``gaussian_emd`` only (default 1).
    """
    if name == "gaussian_emd":
        return GaussianEMDKernel(sigma, 1.0 if distance_scaling is None else distance_scaling)
    if distance_scaling is not None:
        raise ConfigError(
            f"distance_scaling: only the 'gaussian_emd' kernel takes it, got kernel {name!r}"
        )
    if name == "gaussian":
        return GaussianKernel(sigma)
    if name == "gaussian_tv":
        return GaussianTVKernel(sigma)
    raise ConfigError(f"kernel: expected one of {', '.join(KERNEL_NAMES)}, got {name!r}")


def mmd(
    samples_a: Sequence[ArrayLike] | ArrayLike,
    samples_b: Sequence[ArrayLike] | ArrayLike,
    kernel: str | Kernel = "gaussian_tv",
    *,
    sigma: float | None = None,
    distance_scaling: float | None = None,
    normalize: bool = True,
) -> float:
    """MMD² (biased V-statistic) between two sets of 1-D descriptors, GraphRNN/GRAN/SPECTRE style.

    Args:
        samples_a: ``N`` descriptors, each a 1-D array (lengths may differ), or an ``(N, L)`` array.
        samples_b: ``M`` descriptors, the same way.
        kernel: a kernel name (``gaussian``, ``gaussian_tv``, ``gaussian_emd``) or a callable
            ``(N, L), (M, L) -> (N, M)`` kernel matrix, e.g. ``GaussianEMDKernel(0.1, 100)``.
        sigma: bandwidth for a named kernel (default 1); set it on the object for a callable.
        distance_scaling: EMD ground-distance divisor for ``gaussian_emd`` (default 1).
        normalize: divide each descriptor by ``sum + 1e-6`` first (histograms; their ``is_hist``).

    Returns:
        ``mean k(A, A) + mean k(B, B) - 2 mean k(A, B)`` over all ordered pairs, diagonals included.
    """
    kernel_fn = _resolve_kernel(kernel, sigma, distance_scaling)
    rows_a = _descriptor_list(samples_a, "samples_a")
    rows_b = _descriptor_list(samples_b, "samples_b")
    length = max(1, *(len(r) for r in rows_a), *(len(r) for r in rows_b))
    a = _stack(rows_a, length, normalize)
    b = _stack(rows_b, length, normalize)
    return _v_statistic(kernel_fn(a, a), kernel_fn(b, b), kernel_fn(a, b))


def mmd_rbf(x: ArrayLike, y: ArrayLike, sigma: float = 1.0, *, unbiased: bool = False) -> float:
    """MMD² between feature sets ``x`` ``(N, D)`` and ``y`` ``(M, D)`` with ``exp(-||x-y||²/(2σ²))``.

    By default the biased V-statistic (diagonal terms included, as :func:`mmd`). With
    ``unbiased=True`` the U-statistic of Gretton et al. (2012): the within-set means exclude
    ``i = j``, which needs ``N, M ≥ 2`` and can be negative.
    """
    kernel = GaussianKernel(sigma)
    min_rows = 2 if unbiased else 1
    a = feature_tensor(x, "x", min_rows=min_rows).cpu()
    b = feature_tensor(y, "y", min_rows=min_rows).cpu()
    same_dim(a, "x", b, "y")
    if unbiased:
        return _u_statistic(kernel(a, a), kernel(b, b), kernel(a, b))
    return _v_statistic(kernel(a, a), kernel(b, b), kernel(a, b))


def _resolve_kernel(
    kernel: str | Kernel, sigma: float | None, distance_scaling: float | None
) -> Kernel:
    if isinstance(kernel, str):
        return make_kernel(kernel, 1.0 if sigma is None else sigma, distance_scaling)
    if not callable(kernel):
        raise ConfigError(
            f"kernel: expected a kernel name or a callable, got {type(kernel).__name__}"
        )
    if sigma is not None or distance_scaling is not None:
        raise ConfigError(
            "sigma, distance_scaling: only used with a kernel name; set them on the kernel object"
        )
    return kernel


def _descriptor_list(samples: Sequence[ArrayLike] | ArrayLike, name: str) -> list[np.ndarray]:
    """Split ``samples`` into a non-empty list of finite 1-D float64 arrays."""
    if isinstance(samples, np.ndarray | torch.Tensor):
        if samples.ndim != 2:
            raise ConfigError(
                f"{name}: expected an (N, L) array or a list of 1-D arrays, got shape {tuple(samples.shape)}"
            )
        rows = list(as_numpy(samples, name))
    else:
        rows = [as_numpy(s, f"{name}[{i}]") for i, s in enumerate(samples)]
    if not rows:
        raise ConfigError(f"{name}: expected at least one descriptor, got an empty set")
    for i, row in enumerate(rows):
        if row.ndim != 1:
            raise ConfigError(f"{name}[{i}]: expected a 1-D descriptor, got shape {row.shape}")
        check_finite(row, f"{name}[{i}]")
    return rows


def _stack(rows: list[np.ndarray], length: int, normalize: bool) -> torch.Tensor:
    """Zero-pad each row to ``length``, optionally normalise to sum 1: → ``(N, length)``."""
    out = np.zeros((len(rows), length), dtype=np.float64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    if normalize:
        out /= out.sum(axis=1, keepdims=True) + HISTOGRAM_EPS
    return torch.from_numpy(out)


def _v_statistic(k_aa: torch.Tensor, k_bb: torch.Tensor, k_ab: torch.Tensor) -> float:
    return float(k_aa.mean() + k_bb.mean() - 2.0 * k_ab.mean())


def _u_statistic(k_aa: torch.Tensor, k_bb: torch.Tensor, k_ab: torch.Tensor) -> float:
    n, m = k_aa.shape[0], k_bb.shape[0]
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())
