"""Graph-set MMD² as GraphRNN / GRAN / SPECTRE / DiGress compute it, in both kernel families.

Per-graph descriptors (empty graphs are dropped first, as the reference code does):

* ``degree`` — ``nx.degree_histogram(G)``;
* ``clustering`` — ``np.histogram(nx.clustering(G).values(), bins=100, range=(0, 1))``;
* ``orbit`` — ORCA ``node 4`` orbit counts (:mod:`polydit.graph.orbits`) summed over the
  nodes and divided by n: ``(15,)``, compared raw (``is_hist=False``);
* ``spectral`` — eigenvalues of ``nx.normalized_laplacian_matrix(G)`` in
  ``np.histogram(bins=200, range=(-1e-5, 2))``, divided by its sum.

MMD² is core :func:`polydit.core.metrics.mmd` (biased V-statistic; histograms normalised to
``h / (sum + 1e-6)``) with, per family:

==========  ==========================  =====================================================
statistic   ``tv`` (GRAN / SPECTRE)     ``emd`` (GraphRNN; DiGress ``compute_emd=True``)
==========  ==========================  =====================================================
degree      Gaussian-TV, σ = 1          Gaussian-EMD, σ = 1
clustering  Gaussian-TV, σ = 0.1        Gaussian-EMD, σ = 0.1, ground distance ``|i-j|/100``
orbit       Gaussian-TV, σ = 30         Gaussian (L2), σ = 30
spectral    Gaussian-TV, σ = 1          Gaussian-EMD, σ = 1
==========  ==========================  =====================================================

Results are keyed ``"{statistic}_{family}"``; :func:`mmd_ratios` divides by a reference set's
MMD² (the DiGress-era ratio ``MMD²(generated, test) / MMD²(train, test)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from polydit.core.errors import ConfigError
from polydit.core.metrics import GaussianEMDKernel, GaussianKernel, GaussianTVKernel, Kernel, mmd
from polydit.graph.orbits import orbit_counts

STATISTICS = ("degree", "clustering", "orbit", "spectral")
KERNEL_FAMILIES = ("tv", "emd")
CLUSTERING_BINS = 100
SPECTRAL_BINS = 200
ZERO_MMD = 1e-12  # an MMD² at or below this is 0 up to floating-point rounding (for ratios)


def degree_histogram(graph: nx.Graph) -> np.ndarray:
    """Count of nodes of each degree ``(max_degree + 1,)``."""
    return np.asarray(nx.degree_histogram(graph), dtype=np.float64)


def clustering_histogram(graph: nx.Graph, bins: int = CLUSTERING_BINS) -> np.ndarray:
    """Histogram of the local clustering coefficients over [0, 1]: ``(bins,)``."""
    hist, _ = np.histogram(list(nx.clustering(graph).values()), bins=bins, range=(0.0, 1.0))
    return hist.astype(np.float64)


def mean_orbit_counts(graph: nx.Graph) -> np.ndarray:
    """ORCA orbit counts summed over nodes, divided by the node count: ``(15,)``."""
    return orbit_counts(graph).sum(axis=0) / graph.number_of_nodes()


def spectral_histogram(graph: nx.Graph, bins: int = SPECTRAL_BINS) -> np.ndarray:
    """Normalised-Laplacian eigenvalue histogram over [-1e-5, 2], summing to 1: ``(bins,)``."""
    from scipy.linalg import eigvalsh

    eigenvalues = eigvalsh(nx.normalized_laplacian_matrix(graph).toarray())
    hist, _ = np.histogram(eigenvalues, bins=bins, range=(-1e-5, 2.0))
    return hist / hist.sum()


@dataclass(frozen=True)
class Statistic:
    """One MMD statistic: the descriptor, whether it is a histogram, its kernel per family."""

    descriptor: Callable[[nx.Graph], np.ndarray]
    is_histogram: bool
    kernels: Mapping[str, Kernel]


STATISTIC_SPECS: dict[str, Statistic] = {
    "degree": Statistic(
        degree_histogram, True, {"tv": GaussianTVKernel(1.0), "emd": GaussianEMDKernel(1.0)}
    ),
    "clustering": Statistic(
        clustering_histogram,
        True,
        {"tv": GaussianTVKernel(0.1), "emd": GaussianEMDKernel(0.1, float(CLUSTERING_BINS))},
    ),
    "orbit": Statistic(
        mean_orbit_counts, False, {"tv": GaussianTVKernel(30.0), "emd": GaussianKernel(30.0)}
    ),
    "spectral": Statistic(
        spectral_histogram, True, {"tv": GaussianTVKernel(1.0), "emd": GaussianEMDKernel(1.0)}
    ),
}


@dataclass(frozen=True)
class Descriptors:
    """Each statistic's descriptors of one graph set (non-empty graphs only), computed once."""

    by_statistic: Mapping[str, tuple[np.ndarray, ...]]
    num_graphs: int

    @classmethod
    def of(cls, graphs: Sequence[nx.Graph], statistics: Sequence[str] = STATISTICS) -> Descriptors:
        kept = [g for g in graphs if g.number_of_nodes() > 0]
        return cls({s: tuple(_spec(s).descriptor(g) for g in kept) for s in statistics}, len(kept))


GraphsOrDescriptors = Sequence[nx.Graph] | Descriptors


def graph_mmd(
    reference: GraphsOrDescriptors,
    generated: GraphsOrDescriptors,
    statistic: str,
    family: str = "tv",
) -> float:
    """MMD² of one statistic in one kernel family (NaN if either set has no non-empty graph)."""
    spec = _spec(statistic)
    if family not in KERNEL_FAMILIES:
        raise ConfigError(
            f"kernel family: expected one of {', '.join(KERNEL_FAMILIES)}, got {family!r}"
        )
    a = _descriptors(reference, statistic)
    b = _descriptors(generated, statistic)
    if not a or not b:
        return float("nan")
    return mmd(list(a), list(b), spec.kernels[family], normalize=spec.is_histogram)


def mmd_metrics(
    reference: GraphsOrDescriptors,
    generated: GraphsOrDescriptors,
    statistics: Sequence[str] = STATISTICS,
    families: Sequence[str] = KERNEL_FAMILIES,
) -> dict[str, float]:
    """``{"degree_tv": ..., "degree_emd": ..., ...}`` for every statistic × family."""
    reference = _as_descriptors(reference, statistics)
    generated = _as_descriptors(generated, statistics)
    return {f"{s}_{f}": graph_mmd(reference, generated, s, f) for s in statistics for f in families}


def mmd_ratios(metrics: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    """``{key}_ratio = metrics[key] / baseline[key]`` for each key of both (e.g. baseline =
    train vs test), plus ``mean_ratio_{family}`` over the statistics present.

    Where the baseline is 0 (trees and grids have no triangles: their clustering MMD² is 0 up
    to rounding, ≤ :data:`ZERO_MMD`) the ratio is ``inf`` if the metric is above
    :data:`ZERO_MMD` and NaN (undefined) if it is 0 too; the mean skips NaN ratios and is
    ``inf`` if any ratio is.
    """
    ratios = {f"{k}_ratio": _ratio(metrics[k], baseline[k]) for k in metrics if k in baseline}
    for family in KERNEL_FAMILIES:
        values = [ratios.get(f"{s}_{family}_ratio", float("nan")) for s in STATISTICS]
        defined = [v for v in values if not np.isnan(v)]
        if defined:
            ratios[f"mean_ratio_{family}"] = float(np.mean(defined))
    return ratios


def _ratio(value: float, baseline: float) -> float:
    if baseline > ZERO_MMD:
        return value / baseline
    return float("inf") if value > ZERO_MMD else float("nan")


def _spec(statistic: str) -> Statistic:
    if statistic not in STATISTIC_SPECS:
        raise ConfigError(f"statistic: expected one of {', '.join(STATISTICS)}, got {statistic!r}")
    return STATISTIC_SPECS[statistic]


def _as_descriptors(graphs: GraphsOrDescriptors, statistics: Sequence[str]) -> Descriptors:
    return graphs if isinstance(graphs, Descriptors) else Descriptors.of(graphs, statistics)


def _descriptors(graphs: GraphsOrDescriptors, statistic: str) -> tuple[np.ndarray, ...]:
    if isinstance(graphs, Descriptors):
        if statistic not in graphs.by_statistic:
            raise ConfigError(f"descriptors: {statistic!r} was not computed for this set")
        return graphs.by_statistic[statistic]
    return Descriptors.of(graphs, (statistic,)).by_statistic[statistic]
