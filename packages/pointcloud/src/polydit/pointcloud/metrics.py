"""Point-cloud generation metrics, defined exactly as PointFlow / PVD / DiT-3D define them
(``metrics/evaluation_metrics.py``), on clouds in their original units (de-normalised).

* **MMD, COV, 1-NNA** under Chamfer (squared, :func:`~.distances.chamfer`) and EMD (exact,
  :func:`~.distances.emd`): the core's :mod:`polydit.core.metrics.nearest_neighbour` over the
  matrices ``d(gen, ref)``, ``d(gen, gen)``, ``d(ref, ref)``. COV and 1-NNA are fractions
  (the papers print them ×100); 1-NNA's ideal is 0.5.
* **JSD**: each point votes for its nearest point of the 28³ grid ``{i/27 − ½}³`` clipped to the
  ball of radius ½; the vote counts of all clouds of a set form one histogram, and the JSD
  (base-2 entropies) of the two normalised histograms is reported.
* **copy ratio**: median over generated clouds of the Chamfer distance to their nearest
  training cloud, divided by the same median over the real test clouds. Below 1, samples sit
  closer to the training set than unseen real shapes do (memorisation).

``evaluate(..., batch_size=None)`` computes everything over the whole sets (PVD's protocol);
``batch_size=64`` averages the metrics over consecutive batches of 64 generated and 64
reference clouds (DiT-3D's ``test.py``). ``emd_points`` / ``points`` evaluate on a fixed random
subset of each cloud's points (the same indices for every cloud), for exact EMD on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.metrics import nn_metrics
from polydit.pointcloud.distances import pairwise_chamfer, pairwise_emd

JSD_RESOLUTION = 28
DISTANCES = ("cd", "emd")
SUBSET_SEED = 0


def jsd_grid(resolution: int = JSD_RESOLUTION) -> np.ndarray:
    """(G, 3) PointFlow's grid points ``i/(R−1) − ½`` inside the ball of radius ½."""
    axis = np.arange(resolution) / (resolution - 1) - 0.5
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid[np.linalg.norm(grid, axis=1) <= 0.5]


def occupancy_counts(clouds: Tensor, resolution: int = JSD_RESOLUTION) -> np.ndarray:
    """(G,) how many points of all `clouds` (S, N, 3) have each grid point as nearest."""
    grid = jsd_grid(resolution)
    _, nearest = cKDTree(grid).query(clouds.detach().cpu().double().reshape(-1, 3).numpy())
    return np.bincount(nearest, minlength=len(grid)).astype(np.float64)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """JSD in bits of two non-negative histograms, each normalised to sum 1."""
    p, q = p / p.sum(), q / q.sum()

    def entropy(x: np.ndarray) -> float:
        x = x[x > 0]
        return float(-(x * np.log2(x)).sum())

    return entropy((p + q) / 2) - (entropy(p) + entropy(q)) / 2


def jsd(generated: Tensor, reference: Tensor, resolution: int = JSD_RESOLUTION) -> float:
    """JSD between the grid-vote histograms of two sets of clouds (module docstring)."""
    return jensen_shannon(
        occupancy_counts(generated, resolution), occupancy_counts(reference, resolution)
    )


def point_subset(clouds: Tensor, points: int | None) -> Tensor:
    """The same fixed random `points` of every cloud (S, N, 3) → (S, points, 3); None: all."""
    if points is None or points >= clouds.shape[1]:
        return clouds
    index = torch.randperm(clouds.shape[1], generator=torch.Generator().manual_seed(SUBSET_SEED))
    return clouds[:, index[:points].sort().values]


def distance_matrices(
    generated: Tensor, reference: Tensor, distance: str
) -> tuple[Tensor, Tensor, Tensor]:
    """(d(gen, ref) (S, R), d(gen, gen) (S, S), d(ref, ref) (R, R)) under "cd" or "emd"."""
    pairwise = {"cd": pairwise_chamfer, "emd": pairwise_emd}.get(distance)
    if pairwise is None:
        raise ConfigError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
    return pairwise(generated, reference), pairwise(generated), pairwise(reference)


def set_metrics(
    generated: Tensor,
    reference: Tensor,
    distances: Sequence[str] = DISTANCES,
    emd_points: int | None = None,
) -> dict[str, float]:
    """MMD, COV and 1-NNA under each distance between two whole sets (S, N, 3), (R, N, 3)."""
    out = {}
    for distance in distances:
        subset = emd_points if distance == "emd" else None
        gen, ref = point_subset(generated, subset), point_subset(reference, subset)
        result = nn_metrics(*distance_matrices(gen, ref, distance))
        name = distance.upper()
        out |= {
            f"MMD-{name}": result.mmd,
            f"COV-{name}": result.cov,
            f"1-NNA-{name}": result.one_nna,
        }
    return out


def evaluate(
    generated: Tensor,
    reference: Tensor,
    *,
    distances: Sequence[str] = DISTANCES,
    batch_size: int | None = None,
    emd_points: int | None = None,
    with_jsd: bool = True,
) -> dict[str, float]:
    """Every set metric of generated (S, N, 3) against reference (R, N, 3) clouds, keyed as the
    papers' tables ("MMD-CD", "COV-EMD", "1-NNA-CD", ..., "JSD"); see the module docstring."""
    for name, x in (("generated", generated), ("reference", reference)):
        if x.ndim != 3 or x.shape[-1] != 3 or len(x) < 2:
            raise ConfigError(f"{name}: expected at least 2 clouds (S, N, 3), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ConfigError(f"{name}: clouds contain NaN or infinite coordinates")
    if batch_size is None:
        out = set_metrics(generated, reference, distances, emd_points)
    else:
        batches = min(len(generated), len(reference)) // batch_size
        if batches == 0:
            raise ConfigError(
                f"batch_size={batch_size} exceeds the {min(len(generated), len(reference))} clouds"
            )
        runs = [
            set_metrics(generated[sl], reference[sl], distances, emd_points)
            for sl in (slice(k * batch_size, (k + 1) * batch_size) for k in range(batches))
        ]
        out = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
    if with_jsd:
        out["JSD"] = jsd(generated, reference)
    return out


@dataclass(frozen=True)
class CopyCheck:
    """Median nearest-training-cloud Chamfer distance of generated and of real test clouds,
    and their ratio (generated / test; ≥ 1 means no closer to the training set than real)."""

    generated_median: float
    test_median: float
    ratio: float


def nearest_train_distance(clouds: Tensor, train: Tensor) -> Tensor:
    """(S,) Chamfer distance of each cloud to its nearest training cloud."""
    return pairwise_chamfer(clouds, train).min(dim=1).values


def copy_check(
    generated: Tensor, test: Tensor, train: Tensor, points: int | None = None
) -> CopyCheck:
    """The copy ratio (module docstring); `points`: on that fixed subset of every cloud."""
    gen, test, train = (point_subset(x, points) for x in (generated, test, train))
    g = float(nearest_train_distance(gen, train).median())
    t = float(nearest_train_distance(test, train).median())
    return CopyCheck(g, t, g / t)
