"""Nearest-neighbour set metrics over precomputed distance matrices: MMD, COV and 1-NNA.

These are the point-cloud generation metrics of Achlioptas et al. (2018) and PointFlow (Yang et
al. 2019), computed exactly as PointFlow, PVD and DiT-3D compute them
(``metrics/evaluation_metrics.py``: ``lgan_mmd_cov`` and ``knn`` with ``k = 1``). They take the
distance matrices, so any distance works (Chamfer, EMD, feature distances).

Notation: ``S`` is the generated set (``N_gen`` samples), ``R`` the reference set (``N_ref``).

* ``d_xy`` ``(N_gen, N_ref)``: ``d_xy[i, j] = d(Sᵢ, Rⱼ)``.
* ``d_xx`` ``(N_gen, N_gen)``: ``d(Sᵢ, Sⱼ)``; ``d_yy`` ``(N_ref, N_ref)``: ``d(Rᵢ, Rⱼ)``.

Definitions:

* **MMD** (minimum matching distance): ``mean_{r∈R} min_{s∈S} d(s, r)``. Lower is better.
* **COV** (coverage): ``|{argmin_{r∈R} d(s, r) : s ∈ S}| / N_ref``, the fraction of references
  that are the nearest reference of at least one sample. Ties go to the lowest reference index
  (``torch.min``). Higher is better.
* **1-NNA**: label references 1 and samples 0; put them in one set ``R ∪ S`` (references
  first), classify each element by the label of its nearest other element (the diagonal is
  ``+inf``, so an element never sees itself), and report the accuracy of that leave-one-out
  1-NN classifier as a fraction in ``[0, 1]``. 0.5 is ideal; 1.0 means the sets are perfectly
  separable. Ties between equidistant neighbours are broken by ``torch.topk(k=1, largest=False)``
  over the columns of the assembled CPU matrix, exactly as the reference ``knn`` does; the
  matrices are moved to the CPU for this reason.

All three are computed on the whole sets given (PVD's protocol); DiT-3D averages them over test
batches of 64, which a caller can reproduce by slicing the matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from polydit.core.errors import ConfigError
from polydit.core.metrics._arrays import ArrayLike, as_tensor, check_shape


@dataclass(frozen=True)
class NNMetrics:
    """The three nearest-neighbour metrics for one distance: MMD, COV and 1-NNA (fractions)."""

    mmd: float
    cov: float
    one_nna: float


def mmd_nn(d_xy: ArrayLike) -> float:
    """Minimum matching distance ``mean_{r∈R} min_{s∈S} d(s, r)`` from ``d_xy`` ``(N_gen, N_ref)``."""
    d = _cross_matrix(d_xy)
    return float(d.min(dim=0).values.mean())


def coverage(d_xy: ArrayLike) -> float:
    """Fraction of references that are the nearest reference of some sample; ``d_xy`` ``(N_gen, N_ref)``."""
    d = _cross_matrix(d_xy)
    nearest_ref = d.min(dim=1).indices
    return nearest_ref.unique().numel() / d.shape[1]


def one_nna(d_xy: ArrayLike, d_xx: ArrayLike, d_yy: ArrayLike) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy over ``R ∪ S`` (see the module docstring).

    Args:
        d_xy: ``(N_gen, N_ref)`` sample-to-reference distances.
        d_xx: ``(N_gen, N_gen)`` sample-to-sample distances.
        d_yy: ``(N_ref, N_ref)`` reference-to-reference distances.

    Returns:
        Accuracy in ``[0, 1]``; 0.5 is ideal.
    """
    cross = _cross_matrix(d_xy)
    n_gen, n_ref = cross.shape
    gen_gen = _square_matrix(d_xx, "d_xx", n_gen, "N_gen")
    ref_ref = _square_matrix(d_yy, "d_yy", n_ref, "N_ref")
    ref_gen = cross.T  # (N_ref, N_gen), the reference code's M_rs
    union = torch.cat(
        (torch.cat((ref_ref, ref_gen), dim=1), torch.cat((ref_gen.T, gen_gen), dim=1)), dim=0
    )
    union = union + torch.diag(torch.full((n_ref + n_gen,), float("inf"), dtype=union.dtype))
    labels = torch.cat((torch.ones(n_ref), torch.zeros(n_gen))).to(union.dtype)
    nearest = union.topk(1, dim=0, largest=False).indices[0]
    predicted = labels[nearest]
    return float((predicted == labels).to(union.dtype).mean())


def nn_metrics(d_xy: ArrayLike, d_xx: ArrayLike, d_yy: ArrayLike) -> NNMetrics:
    """MMD, COV and 1-NNA from the three distance matrices (shapes as in :func:`one_nna`)."""
    return NNMetrics(mmd=mmd_nn(d_xy), cov=coverage(d_xy), one_nna=one_nna(d_xy, d_xx, d_yy))


def _cross_matrix(d_xy: ArrayLike) -> torch.Tensor:
    d = as_tensor(d_xy, "d_xy").cpu()
    check_shape(d, "d_xy", "(N_gen, N_ref)", ndim=2)
    _check_no_nan(d, "d_xy")
    return d


def _square_matrix(x: ArrayLike, name: str, size: int, size_name: str) -> torch.Tensor:
    d = as_tensor(x, name).cpu()
    if tuple(d.shape) != (size, size):
        raise ConfigError(
            f"{name}: expected shape ({size_name}, {size_name}) = ({size}, {size}) to match d_xy, "
            f"got {tuple(d.shape)}"
        )
    _check_no_nan(d, name)
    return d


def _check_no_nan(d: torch.Tensor, name: str) -> None:
    """Distances may be +inf (never a neighbour) but not NaN."""
    if torch.isnan(d).any():
        raise ConfigError(f"{name}: expected distances, found NaN")
