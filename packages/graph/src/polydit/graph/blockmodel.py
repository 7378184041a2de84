"""An approximate stochastic-block-model fit and the SPECTRE/DiGress SBM validity test.

The reference test (DiGress ``is_sbm_graph``) fits blocks with graph-tool's
``minimize_blockmodel_dl`` plus 1000 merge-split sweeps; graph-tool is conda-only, so this module
substitutes a **spectral fit** and labels every result built on it *approximate*:

1. for each k in 1..``max_blocks``: the top-k eigenvectors of ``D^-½ A D^-½``, rows normalised,
   clustered by k-means (``kmeans2``, k-means++ seeding, 10 seeded restarts, lowest inertia;
   a restart that empties a cluster is dropped);
2. the k with the smallest score ``-2 log L + k(k+1)/2 · log(n(n-1)/2) + 2 n log k``: the BIC of
   the Bernoulli block model (``L`` at the maximum-likelihood densities) plus the cost of the
   node labels, as a description length counts them (plain BIC over-splits blocks that k-means
   happens to cut well).

The test itself is the reference's: strict mode requires 2–5 blocks of 20–40 nodes, then the
Wald statistics ``W = (p̂ - p)² / (p̂ (1 - p̂) + 1e-6)`` of every block pair's density against
``p_intra`` (diagonal) or ``p_inter`` (off-diagonal, both orders, as the reference's k × k
matrix), ``p = mean(1 - chi2.cdf(W, 1))``, valid iff ``p > 0.9``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from polydit.graph.orbits import adjacency

MAX_BLOCKS = 10
KMEANS_RESTARTS = 10
P_VALUE_THRESHOLD = 0.9


@dataclass(frozen=True)
class BlockFit:
    """A partition: ``labels`` ``(n,)`` in ``0..k-1``, ``sizes`` ``(k,)``, and ``edges``
    ``(k, k)`` — edges inside block r on the diagonal, edges between r and s off it."""

    labels: np.ndarray
    sizes: np.ndarray
    edges: np.ndarray

    @property
    def num_blocks(self) -> int:
        return int(self.sizes.size)

    def pairs(self) -> np.ndarray:
        """Node pairs per block pair ``(k, k)``: ``n_r (n_r - 1) / 2`` inside, ``n_r n_s``
        between."""
        pairs = np.outer(self.sizes, self.sizes).astype(np.float64)
        np.fill_diagonal(pairs, self.sizes * (self.sizes - 1) / 2)
        return pairs

    def densities(self) -> np.ndarray:
        """Edge density of each block pair ``(k, k)`` (0 where a pair has no node pairs)."""
        pairs = self.pairs()
        return np.divide(self.edges, pairs, out=np.zeros_like(pairs), where=pairs > 0)


def block_fit(a: np.ndarray, labels: np.ndarray) -> BlockFit:
    """Block sizes and edge counts of adjacency `a` ``(n, n)`` under `labels` ``(n,)``."""
    _, labels = np.unique(labels, return_inverse=True)  # make labels contiguous
    k = int(labels.max()) + 1
    member = np.eye(k)[labels]  # (n, k)
    between = member.T @ a @ member  # (k, k): ordered pairs, so inside blocks twice
    edges = between.copy()
    np.fill_diagonal(edges, np.diagonal(between) / 2)
    return BlockFit(labels, member.sum(axis=0).astype(np.int64), edges)


def log_likelihood(fit: BlockFit) -> float:
    """Bernoulli block-model log-likelihood at the fitted densities (0 · log 0 = 0)."""
    pairs, edges = fit.pairs(), fit.edges
    upper = np.triu(np.ones_like(pairs, dtype=bool))
    m, total = edges[upper], pairs[upper]
    p = np.divide(m, total, out=np.zeros_like(m), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(m > 0, m * np.log(p), 0.0) + np.where(
            total - m > 0, (total - m) * np.log1p(-p), 0.0
        )
    return float(terms.sum())


def selection_score(fit: BlockFit) -> float:
    """``-2 log L + k(k+1)/2 · log(n(n-1)/2) + 2 n log k`` (smaller is better)."""
    n, k = fit.labels.size, fit.num_blocks
    parameters = k * (k + 1) / 2 * np.log(max(n * (n - 1) / 2, 1.0))
    return -2.0 * log_likelihood(fit) + parameters + 2.0 * n * np.log(k)


def spectral_labels(a: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means labels ``(n,)`` of the row-normalised top-k eigenvectors of ``D^-½ A D^-½``."""
    from scipy.cluster.vq import ClusterError, kmeans2

    n = a.shape[0]
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    deg = a.sum(axis=1)
    scale = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    _, vectors = np.linalg.eigh(scale[:, None] * a * scale[None, :])
    embedding = vectors[:, -k:]  # (n, k)
    norms = np.linalg.norm(embedding, axis=1, keepdims=True)
    embedding = np.divide(embedding, norms, out=np.zeros_like(embedding), where=norms > 0)
    rng = np.random.default_rng(seed)
    best, best_inertia = np.zeros(n, dtype=np.int64), np.inf
    for _ in range(KMEANS_RESTARTS):
        try:
            centroids, labels = kmeans2(embedding, k, minit="++", seed=rng, missing="raise")
        except ClusterError:  # a restart that emptied a cluster: k-means++ draws again
            continue
        inertia = float(((embedding - centroids[labels]) ** 2).sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def fit_block_model(graph: nx.Graph, max_blocks: int = MAX_BLOCKS, seed: int = 0) -> BlockFit:
    """The spectral partition with the smallest selection score over k = 1..min(max_blocks, n)."""
    a = adjacency(graph).astype(np.float64)
    fits = [
        block_fit(a, spectral_labels(a, k, seed)) for k in range(1, min(max_blocks, a.shape[0]) + 1)
    ]
    return min(fits, key=selection_score)


def wald_p_value(fit: BlockFit, p_intra: float, p_inter: float) -> float:
    """Mean over the k × k block pairs of ``1 - chi2.cdf(W, 1)`` (DiGress's statistic)."""
    from scipy.stats import chi2

    estimate = fit.densities()
    expected = np.full_like(estimate, p_inter)
    np.fill_diagonal(expected, p_intra)
    wald = (estimate - expected) ** 2 / (estimate * (1 - estimate) + 1e-6)
    return float((1.0 - chi2.cdf(np.abs(wald), 1)).mean())


def is_sbm_graph(
    graph: nx.Graph,
    p_intra: float = 0.3,
    p_inter: float = 0.005,
    strict: bool = True,
    blocks: tuple[int, int] = (2, 5),
    block_size: tuple[int, int] = (20, 40),
    seed: int = 0,
) -> bool:
    """Approximate SPECTRE SBM validity: spectral fit, strict block checks, Wald p > 0.9."""
    if graph.number_of_nodes() == 0:
        return False
    fit = fit_block_model(graph, seed=seed)
    if strict and not (
        blocks[0] <= fit.num_blocks <= blocks[1]
        and fit.sizes.min() >= block_size[0]
        and fit.sizes.max() <= block_size[1]
    ):
        return False
    return wald_p_value(fit, p_intra, p_inter) > P_VALUE_THRESHOLD
