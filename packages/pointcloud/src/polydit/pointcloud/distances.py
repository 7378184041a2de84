"""Point-cloud distances in torch (what pytorch3d's ops would give) and exact EMD through POT.

* :func:`squared_distances` ``(B, N, M)`` and :func:`knn` (k nearest, squared distances).
* :func:`chamfer` — the Chamfer distance of PointFlow / PVD / DiT-3D, **squared** distances with
  no square root: ``CD(A, B) = mean_a min_b ‖a − b‖² + mean_b min_a ‖a − b‖²``. Computed in
  blocks of query rows so the ``N × M`` matrix never leaves the cache; differentiable.
* :func:`emd` — the earth mover's distance with Euclidean ground cost between two clouds of the
  same size, averaged over the points: ``EMD(A, B) = min_π (1/N) Σ_i ‖a_i − b_π(i)‖`` over
  bijections π, solved exactly by POT's network simplex (``ot.emd2``). The anchors' CUDA EMD
  (Fan et al.'s ``approxmatch``) is an *approximation* of this same quantity.
* :func:`pairwise_chamfer` / :func:`pairwise_emd` — the distance matrices the set metrics
  (:mod:`.metrics`) need; with one argument only the upper triangle of the symmetric matrix is
  computed. The Chamfer matrix takes its exact nearest neighbours from one scipy ``cKDTree``
  per cloud, in float64: at 2,048 points ≈ 4× faster on this CPU than the blocked distance
  matrix of :func:`chamfer` (same values up to float32 rounding).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from torch import Tensor

from polydit.core.errors import ConfigError

ROW_BLOCK = 64  # query rows per block in chamfer
EMD_MAX_POINTS = 2048
EMD_MAX_ITERATIONS = 10_000_000


def squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """a (B, N, 3), b (B, M, 3) → (B, N, M) squared Euclidean distances (≥ 0)."""
    d = a.pow(2).sum(-1)[:, :, None] + b.pow(2).sum(-1)[:, None, :]
    return d.baddbmm_(a, b.transpose(1, 2), alpha=-2).clamp_min_(0)


def knn(query: Tensor, points: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The `k` nearest `points` (B, M, 3) of every `query` (B, N, 3): squared distances
    (B, N, k) ascending and indices (B, N, k) into M."""
    if not 1 <= k <= points.shape[1]:
        raise ConfigError(f"knn: k={k} must be in 1..{points.shape[1]} (the number of points)")
    values, index = squared_distances(query, points).topk(k, dim=-1, largest=False)
    return values, index


def chamfer(a: Tensor, b: Tensor) -> Tensor:
    """Squared Chamfer distance (B,) between clouds a (B, N, 3) and b (B, M, 3)."""
    _check_clouds(a, "a")
    _check_clouds(b, "b")
    a_sq, b_sq = a.pow(2).sum(-1), b.pow(2).sum(-1)  # (B, N), (B, M)
    b_t = b.transpose(1, 2)  # (B, 3, M)
    a_to_b, b_to_a = [], None
    for start in range(0, a.shape[1], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        partial = torch.baddbmm(b_sq[:, None, :], a[:, rows], b_t, alpha=-2)  # ‖b‖² − 2ab
        a_to_b.append(partial.amin(2) + a_sq[:, rows])
        column = (partial + a_sq[:, rows, None]).amin(1)  # (B, M)
        b_to_a = column if b_to_a is None else torch.minimum(b_to_a, column)
    return torch.cat(a_to_b, 1).clamp_min(0).mean(1) + b_to_a.clamp_min(0).mean(1)


def pairwise_chamfer(x: Tensor, y: Tensor | None = None) -> Tensor:
    """(S, R) float64 Chamfer distances between every cloud of x (S, N, 3) and of y (R, M, 3);
    y omitted: the symmetric (S, S) matrix of x, its diagonal zero, each pair computed once."""
    _check_clouds(x, "x")
    pairs = _pairs(len(x), None if y is None else len(y))
    xs = x.detach().cpu().double().numpy()
    x_trees = [cKDTree(cloud) for cloud in xs]
    if y is None:
        ys, y_trees = xs, x_trees
    else:
        _check_clouds(y, "y")
        ys = y.detach().cpu().double().numpy()
        y_trees = [cKDTree(cloud) for cloud in ys]
    out = torch.zeros(len(xs), len(ys), dtype=torch.float64)
    for i, j in pairs.tolist():
        x_to_y = y_trees[j].query(xs[i])[0]  # (N,) distance to the nearest point of y_j
        y_to_x = x_trees[i].query(ys[j])[0]  # (M,)
        out[i, j] = float(np.mean(x_to_y**2) + np.mean(y_to_x**2))
    if y is None:
        out = out + out.T
    return out


def emd(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    """Exact EMD (mean matched Euclidean distance) between two (N, 3) clouds, N ≤ 2048."""
    import ot  # POT imports in seconds; only EMD needs it

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise ConfigError(
            f"emd: expected two clouds of the same shape (N, 3), got {a.shape} and {b.shape}"
        )
    n = len(a)
    if n > EMD_MAX_POINTS:
        raise ConfigError(f"emd: exact EMD is limited to {EMD_MAX_POINTS} points, got {n}")
    weights = np.full(n, 1.0 / n)
    cost, log = ot.emd2(weights, weights, cdist(a, b), numItermax=EMD_MAX_ITERATIONS, log=True)
    if log.get("warning"):
        raise RuntimeError(f"emd: the network simplex did not reach the optimum ({log['warning']})")
    return float(cost)


def pairwise_emd(x: Tensor, y: Tensor | None = None) -> Tensor:
    """(S, R) float64 exact EMDs between the clouds of x (S, N, 3) and y (R, N, 3); y omitted:
    the symmetric (S, S) matrix of x, each pair solved once."""
    pairs = _pairs(len(x), None if y is None else len(y))
    xs = x.detach().cpu().double().numpy()
    ys = xs if y is None else y.detach().cpu().double().numpy()
    out = torch.zeros(len(xs), len(ys), dtype=torch.float64)
    for i, j in pairs.tolist():
        out[i, j] = emd(xs[i], ys[j])
    if y is None:
        out = out + out.T
    return out


def _pairs(s: int, r: int | None) -> Tensor:
    """(P, 2) index pairs: all of S × R, or i < j of S × S when r is None."""
    if r is None:
        return torch.triu_indices(s, s, offset=1).T
    return torch.cartesian_prod(torch.arange(s), torch.arange(r)).reshape(-1, 2)


def _check_clouds(x: Tensor, name: str) -> None:
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ConfigError(f"{name}: expected clouds of shape (B, N, 3), got {tuple(x.shape)}")
