"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019).

Each feature set is taken as an estimate of its manifold: the union of balls around its points,
each ball's radius being the distance from the point to its k-th nearest neighbour within the
same set (the point itself excluded; ``k = 3`` by default, as in the paper).

* **precision** = fraction of fake samples inside the real manifold: ``φ_f`` counts when
  ``||φ_f - φ_r|| <= radius_k(φ_r)`` for at least one real ``φ_r``.
* **recall** = fraction of real samples inside the fake manifold, symmetrically.

The comparison is ``<=`` as in the authors' code. Distances are computed with ``torch.cdist`` in
float64, a block of ``batch_size`` rows at a time, so memory stays ``O(batch_size · N)`` and
10k × 10k feature sets are fine. Tensor inputs stay on their device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from polydit.core.errors import ConfigError
from polydit.core.metrics._arrays import ArrayLike, feature_tensor, same_dim


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall, both fractions in ``[0, 1]``."""

    precision: float
    recall: float


def knn_radii(feats: torch.Tensor, k: int = 3, batch_size: int = 1024) -> torch.Tensor:
    """Distance from each row of ``feats`` ``(N, D)`` to its k-th nearest other row: ``(N,)``.

    Requires ``N > k``. Duplicated points count as distinct neighbours at distance 0.
    """
    n = feats.shape[0]
    if n <= k:
        raise ConfigError(
            f"k: expected fewer than the {n} samples of a set (k-th neighbour), got {k}"
        )
    radii = torch.empty(n, dtype=feats.dtype, device=feats.device)
    for start in range(0, n, batch_size):
        block = feats[start : start + batch_size]
        dist = torch.cdist(block, feats)  # (B, N)
        rows = torch.arange(block.shape[0], device=feats.device)
        dist[rows, rows + start] = 0.0  # the point itself is the 1st smallest, exactly
        radii[start : start + block.shape[0]] = dist.kthvalue(k + 1, dim=1).values
    return radii


def fraction_inside(
    queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, batch_size: int = 1024
) -> float:
    """Fraction of ``queries`` ``(M, D)`` within ``radii[j]`` ``(N,)`` of some ``support[j]`` ``(N, D)``."""
    inside = 0
    for start in range(0, queries.shape[0], batch_size):
        dist = torch.cdist(queries[start : start + batch_size], support)  # (B, N)
        inside += int((dist <= radii[None, :]).any(dim=1).sum())
    return inside / queries.shape[0]


def precision_recall(
    real: ArrayLike, fake: ArrayLike, k: int = 3, *, batch_size: int = 1024
) -> PrecisionRecall:
    """Improved precision and recall of ``fake`` ``(M, D)`` against ``real`` ``(N, D)``.

    Args:
        real: reference features; ``N > k``.
        fake: generated features; ``M > k``, same ``D``.
        k: neighbourhood size for the manifold radii (paper default 3).
        batch_size: rows per distance block.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k: expected an integer >= 1, got {k!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    r = feature_tensor(real, "real", min_rows=k + 1)
    f = feature_tensor(fake, "fake", min_rows=k + 1).to(r.device)
    same_dim(r, "real", f, "fake")
    real_radii = knn_radii(r, k, batch_size)
    fake_radii = knn_radii(f, k, batch_size)
    return PrecisionRecall(
        precision=fraction_inside(f, r, real_radii, batch_size),
        recall=fraction_inside(r, f, fake_radii, batch_size),
    )
