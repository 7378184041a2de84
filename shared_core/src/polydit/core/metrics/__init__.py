"""Metric math shared by every domain: pure functions over features, descriptors or distances.

* :mod:`.frechet` — Fréchet distance between Gaussians (FID/FAD/FVD-style).
* :mod:`.mmd` — MMD² with Gaussian / Gaussian-TV / Gaussian-EMD kernels (graph benchmarks) and
  an RBF MMD² for feature vectors.
* :mod:`.nearest_neighbour` — MMD, COV and 1-NNA over distance matrices (point clouds).
* :mod:`.precision_recall` — improved precision and recall (Kynkäänniemi et al. 2019).

Inputs may be numpy arrays or torch tensors; results are Python floats or small frozen
dataclasses. Bad input raises :class:`polydit.core.errors.ConfigError`.
"""

from polydit.core.metrics.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
)
from polydit.core.metrics.mmd import (
    GaussianEMDKernel,
    GaussianKernel,
    GaussianTVKernel,
    Kernel,
    emd_distances,
    euclidean_distances,
    make_kernel,
    mmd,
    mmd_rbf,
    tv_distances,
)
from polydit.core.metrics.nearest_neighbour import (
    NNMetrics,
    coverage,
    mmd_nn,
    nn_metrics,
    one_nna,
)
from polydit.core.metrics.precision_recall import (
    PrecisionRecall,
    fraction_inside,
    knn_radii,
    precision_recall,
)

__all__ = [
    "GaussianEMDKernel",
    "GaussianKernel",
    "GaussianTVKernel",
    "Kernel",
    "NNMetrics",
    "PrecisionRecall",
    "coverage",
    "emd_distances",
    "euclidean_distances",
    "feature_statistics",
    "fraction_inside",
    "frechet_distance",
    "frechet_distance_from_features",
    "knn_radii",
    "make_kernel",
    "mmd",
    "mmd_nn",
    "mmd_rbf",
    "nn_metrics",
    "one_nna",
    "precision_recall",
    "tv_distances",
]
