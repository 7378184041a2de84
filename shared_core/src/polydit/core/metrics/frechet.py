"""Fréchet distance between Gaussians fitted to feature sets (FID, FAD, FVD and their proxies).

For ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` the squared 2-Wasserstein (Fréchet) distance is::

    FD = ||mu1 - mu2||² + Tr(sigma1) + Tr(sigma2) - 2 Tr((sigma1 sigma2)^{1/2})

The matrix square root is taken with :func:`scipy.linalg.sqrtm`. For covariances that are
positive semi-definite, ``sigma1 sigma2`` is similar to a PSD matrix, so its principal square
root is real; round-off can still leave a small imaginary part, which is dropped when it is below
``1e-3`` on the diagonal and rejected otherwise. When the product is (numerically) singular, for
example a rank-deficient covariance from fewer samples than feature dimensions, ``eps * I`` is
added to both covariances before the square root, the fix used by the common FID tools.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from polydit.core.errors import ConfigError
from polydit.core.metrics._arrays import ArrayLike, as_numpy, check_finite, features, same_dim

#: Largest imaginary part tolerated on the diagonal of ``sqrtm(sigma1 @ sigma2)``.
IMAGINARY_TOLERANCE = 1e-3


def feature_statistics(feats: ArrayLike, name: str = "feats") -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (``ddof=1``) of ``feats`` ``(N, D)``, N ≥ 2."""
    arr = features(feats, name, min_rows=2)
    mu = arr.mean(axis=0)
    sigma = np.atleast_2d(np.cov(arr, rowvar=False))
    return mu, sigma


def frechet_distance(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, *, eps: float = 1e-6
) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: means, shape ``(D,)``.
        sigma1, sigma2: covariances, shape ``(D, D)``, symmetric positive semi-definite.
        eps: ridge added to both covariances when ``sigma1 @ sigma2`` is singular.

    Returns:
        ``||mu1 - mu2||² + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})`` as a Python float.
    """
    m1, s1 = _gaussian(mu1, sigma1, "mu1", "sigma1")
    m2, s2 = _gaussian(mu2, sigma2, "mu2", "sigma2")
    same_dim(m1, "mu1", m2, "mu2")
    diff = m1 - m2
    trace_root = float(np.trace(_sqrt_of_product(s1, s2, eps)))
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_root)


def frechet_distance_from_features(
    feats_a: ArrayLike, feats_b: ArrayLike, *, eps: float = 1e-6
) -> float:
    """Fréchet distance between Gaussians fitted to ``feats_a`` ``(N, D)`` and ``feats_b`` ``(M, D)``.

    Each set is summarised by its mean and unbiased covariance (:func:`feature_statistics`),
    so ``N`` and ``M`` must be at least 2.
    """
    mu_a, sigma_a = feature_statistics(feats_a, "feats_a")
    mu_b, sigma_b = feature_statistics(feats_b, "feats_b")
    same_dim(mu_a, "feats_a", mu_b, "feats_b")
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b, eps=eps)


def _gaussian(
    mu: ArrayLike, sigma: ArrayLike, mu_name: str, sigma_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(D,)`` mean and ``(D, D)`` covariance."""
    m = as_numpy(mu, mu_name)
    s = as_numpy(sigma, sigma_name)
    if m.ndim != 1 or m.shape[0] == 0:
        raise ConfigError(
            f"{mu_name}: expected a non-empty mean vector of shape (D,), got {m.shape}"
        )
    d = m.shape[0]
    if s.shape != (d, d):
        raise ConfigError(f"{sigma_name}: expected a covariance of shape ({d}, {d}), got {s.shape}")
    check_finite(m, mu_name)
    check_finite(s, sigma_name)
    return m, s


def _sqrt_of_product(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> np.ndarray:
    """Real principal square root of ``sigma1 @ sigma2``, with the ``eps * I`` fix when singular."""
    root, singular = _sqrtm(sigma1 @ sigma2)
    if singular:
        ridge = eps * np.eye(sigma1.shape[0])
        root, _ = _sqrtm((sigma1 + ridge) @ (sigma2 + ridge))
    return _real_part(root)


def _sqrtm(matrix: np.ndarray) -> tuple[np.ndarray, bool]:
    """``scipy.linalg.sqrtm(matrix)`` and whether scipy found the matrix singular or failed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    warned = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    return root, warned or not np.isfinite(root).all()


def _real_part(root: np.ndarray) -> np.ndarray:
    """Drop a round-off imaginary part; a large one means the covariances are not PSD."""
    if not np.iscomplexobj(root):
        return root
    worst = float(np.max(np.abs(np.diagonal(root).imag)))
    if worst > IMAGINARY_TOLERANCE:
        raise ConfigError(
            f"sigma1, sigma2: sqrtm(sigma1 @ sigma2) has an imaginary diagonal part of {worst:.3g}; "
            "expected symmetric positive semi-definite covariances"
        )
    return root.real
