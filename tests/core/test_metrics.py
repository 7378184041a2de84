"""Tests of polydit.core.metrics against closed forms, hand-computed values and brute force."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import scipy.stats
import torch

from polydit.core.errors import ConfigError
from polydit.core.metrics import (
    GaussianEMDKernel,
    GaussianTVKernel,
    NNMetrics,
    PrecisionRecall,
    coverage,
    emd_distances,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
    knn_radii,
    make_kernel,
    mmd,
    mmd_nn,
    mmd_rbf,
    nn_metrics,
    one_nna,
    precision_recall,
    tv_distances,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


# ----------------------------------------------------------------------------- Fréchet distance


def test_frechet_diagonal_gaussians_closed_form() -> None:
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 3.0, -2.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    # ||Δμ||² + Σ (√a - √b)² = (1 + 4) + (4 + 1 + 0)
    expected = 5.0 + 5.0
    got = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert isinstance(got, float)
    assert got == pytest.approx(expected, abs=1e-9)


def test_frechet_is_rotation_invariant_for_non_diagonal_covariances() -> None:
    q, _ = np.linalg.qr(_rng(1).normal(size=(4, 4)))
    var1, var2 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 1.0, 1.0, 0.5])
    s1, s2 = q @ np.diag(var1) @ q.T, q @ np.diag(var2) @ q.T
    mu = np.zeros(4)
    expected = float(np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2))
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(expected, abs=1e-8)


def test_frechet_general_covariances_matches_eigenvalue_formula() -> None:
    rng = _rng(2)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    # Tr (s1 s2)^{1/2} = Σ sqrt(eigenvalues of s1 s2), which are real and positive.
    trace_root = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_root + 1.0
    mu2 = np.zeros(5)
    mu2[0] = 1.0
    assert frechet_distance(np.zeros(5), s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_frechet_from_features_equal_sets_is_zero_and_accepts_torch() -> None:
    feats = _rng(3).normal(size=(200, 8))
    assert frechet_distance_from_features(feats, feats) == pytest.approx(0.0, abs=1e-6)
    t = torch.from_numpy(feats).float()
    assert frechet_distance_from_features(t, t) == pytest.approx(0.0, abs=1e-4)


def test_frechet_from_features_uses_mean_and_unbiased_covariance() -> None:
    rng = _rng(4)
    a, b = rng.normal(size=(300, 3)), rng.normal(loc=2.0, scale=0.5, size=(400, 3))
    mu_a, s_a = feature_statistics(a)
    np.testing.assert_allclose(s_a, np.cov(a, rowvar=False))
    got = frechet_distance_from_features(a, b)
    expected = frechet_distance(mu_a, s_a, b.mean(0), np.cov(b, rowvar=False))
    assert got == pytest.approx(expected, rel=1e-12)
    # close to the population value 3·2² + 3·(1 - 0.5)² = 12.75
    assert got == pytest.approx(12.75, abs=1.0)


def test_frechet_rank_deficient_covariance_uses_eps_fix() -> None:
    feats = _rng(5).normal(size=(4, 10))  # rank 3 covariance in 10 dims: singular product
    got = frechet_distance_from_features(feats, feats)
    assert math.isfinite(got)
    assert got == pytest.approx(0.0, abs=1e-3)


def test_frechet_one_dimensional() -> None:
    # N(0, 1) vs N(3, 4): 9 + (1 - 2)² = 10
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)), "sigma1"),
        ((np.zeros(3), np.eye(3), np.zeros(2), np.eye(2)), "mu2"),
        ((np.zeros((3, 1)), np.eye(3), np.zeros(3), np.eye(3)), "mu1"),
        ((np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2)), "positive semi-definite"),
        ((np.zeros(2), np.eye(2), np.array([0.0, np.nan]), np.eye(2)), "mu2"),
    ],
)
def test_frechet_bad_input(args: tuple, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        frechet_distance(*args)


def test_frechet_from_features_bad_input() -> None:
    with pytest.raises(ConfigError, match="feats_b"):
        frechet_distance_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ConfigError, match="feats_a"):
        frechet_distance_from_features(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ConfigError, match="feats_a"):
        frechet_distance_from_features(np.zeros(5), np.zeros((5, 1)))


# ----------------------------------------------------------------------------- MMD


def test_emd_distances_hand_computed() -> None:
    a = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]], dtype=torch.float64)
    # shift half a unit of mass by one bin twice = 1; all mass from bin 0 to 2 = 2; etc.
    expected = np.array([[1.0, 1.5], [1.5, 2.0]])
    np.testing.assert_allclose(emd_distances(a, b).numpy(), expected)
    np.testing.assert_allclose(emd_distances(a, b, distance_scaling=100.0).numpy(), expected / 100)


def test_emd_distances_match_scipy_wasserstein() -> None:
    rng = _rng(6)
    a, b = rng.random((4, 7)), rng.random((3, 7))
    a /= a.sum(1, keepdims=True)
    b /= b.sum(1, keepdims=True)
    support = np.arange(7)
    expected = np.array(
        [[scipy.stats.wasserstein_distance(support, support, x, y) for y in b] for x in a]
    )
    got = emd_distances(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_tv_distance_hand_computed() -> None:
    a = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.25, 0.75]], dtype=torch.float64)
    assert tv_distances(a, b).item() == pytest.approx(0.75)


def test_gaussian_emd_kernel_on_hand_histograms() -> None:
    a = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    # EMD = 2 -> exp(-4 / (2·1²)); with sigma 2: exp(-4 / 8)
    assert GaussianEMDKernel(1.0)(a, b).item() == pytest.approx(math.exp(-2.0))
    assert GaussianEMDKernel(2.0)(a, b).item() == pytest.approx(math.exp(-0.5))


@pytest.mark.parametrize("kernel", ["gaussian", "gaussian_tv", "gaussian_emd"])
def test_mmd_identical_sets_is_zero(kernel: str) -> None:
    hists = [_rng(7).random(n) for n in (3, 5, 8, 2)]
    assert mmd(hists, hists, kernel) == pytest.approx(0.0, abs=1e-12)


def test_mmd_hand_computed_v_statistic() -> None:
    # A = {[1,0], [1,0]}, B = {[0,1]}, TV = 1 between A and B, so k_ab = exp(-1/2):
    # V-statistic: mean k_AA = 1, mean k_BB = 1, mean k_AB = exp(-1/2).
    a = [np.array([1.0, 0.0]), np.array([1.0, 0.0])]
    b = [np.array([0.0, 1.0])]
    expected = 2.0 - 2.0 * math.exp(-0.5)
    assert mmd(a, b, "gaussian_tv", normalize=False) == pytest.approx(expected, abs=1e-12)
    # a mixed set {[1,0],[0,1]} vs B: k_AA mean = (1+1+2e)/4, k_AB mean = (e+1)/2, k_BB = 1
    e = math.exp(-0.5)
    mixed = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    expected_mixed = (2 + 2 * e) / 4 + 1 - (e + 1)
    assert mmd(mixed, b, "gaussian_tv", normalize=False) == pytest.approx(expected_mixed)


def test_mmd_pads_and_normalizes_histograms() -> None:
    assert mmd([np.array([1.0])], [np.array([1.0, 0.0, 0.0])], "gaussian_emd") == pytest.approx(0.0)
    assert mmd([np.array([2.0, 2.0])], [np.array([1.0, 1.0])], "gaussian_tv") == pytest.approx(
        0.0, abs=1e-10
    )
    # without normalisation the raw counts differ
    assert mmd([np.array([2.0, 2.0])], [np.array([1.0, 1.0])], "gaussian", normalize=False) > 0.1


def test_mmd_matches_brute_force_graph_protocol() -> None:
    rng = _rng(8)
    set_a = [rng.integers(0, 5, size=n).astype(float) + 0.1 for n in (4, 6, 3)]
    set_b = [rng.integers(0, 5, size=n).astype(float) + 0.1 for n in (5, 2)]

    def prep(h: np.ndarray) -> np.ndarray:
        padded = np.zeros(6)
        padded[: len(h)] = h
        return padded / (padded.sum() + 1e-6)

    def k(x: np.ndarray, y: np.ndarray) -> float:
        d = scipy.stats.wasserstein_distance(np.arange(6), np.arange(6), x, y) / 10.0
        return math.exp(-d * d / (2 * 0.3**2))

    def disc(s1: list[np.ndarray], s2: list[np.ndarray]) -> float:
        return float(np.mean([[k(x, y) for y in s2] for x in s1]))

    pa, pb = [prep(h) for h in set_a], [prep(h) for h in set_b]
    expected = disc(pa, pa) + disc(pb, pb) - 2 * disc(pa, pb)
    got = mmd(set_a, set_b, "gaussian_emd", sigma=0.3, distance_scaling=10.0)
    assert got == pytest.approx(expected, rel=1e-6)
    got_obj = mmd(set_a, set_b, GaussianEMDKernel(sigma=0.3, distance_scaling=10.0))
    assert got_obj == pytest.approx(got)


def test_mmd_grows_with_shift() -> None:
    base = _rng(9).normal(size=(40, 3))
    values = [
        mmd(base, base + shift, "gaussian", normalize=False) for shift in (0.0, 0.2, 0.5, 1.0)
    ]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert all(later > earlier for earlier, later in itertools.pairwise(values))


def test_mmd_accepts_torch_and_2d_arrays() -> None:
    a = _rng(10).random((5, 4))
    b = _rng(11).random((6, 4))
    got_np = mmd(a, b, "gaussian_tv", sigma=0.5)
    got_t = mmd(torch.from_numpy(a), [torch.from_numpy(r) for r in b], "gaussian_tv", sigma=0.5)
    assert got_np == pytest.approx(got_t)
    assert got_np > 0


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: mmd([], [np.ones(2)]), "samples_a"),
        (lambda: mmd([np.ones(2)], [np.ones((2, 2))]), r"samples_b\[0\]"),
        (lambda: mmd(np.ones(3), [np.ones(2)]), "samples_a"),
        (lambda: mmd([np.ones(2)], [np.ones(2)], "laplace"), "kernel"),
        (lambda: mmd([np.ones(2)], [np.ones(2)], "gaussian_tv", sigma=0.0), "sigma"),
        (
            lambda: mmd([np.ones(2)], [np.ones(2)], "gaussian_tv", distance_scaling=2.0),
            "distance_scaling",
        ),
        (lambda: mmd([np.ones(2)], [np.ones(2)], GaussianTVKernel(1.0), sigma=1.0), "sigma"),
        (lambda: mmd([np.array([1.0, np.inf])], [np.ones(2)]), r"samples_a\[0\]"),
        (lambda: make_kernel("gaussian_emd", distance_scaling=-1.0), "distance_scaling"),
    ],
)
def test_mmd_bad_input(call, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        call()


def test_mmd_rbf_identical_shift_and_unbiased() -> None:
    rng = _rng(12)
    x = rng.normal(size=(100, 4))
    y = rng.normal(size=(100, 4))
    assert mmd_rbf(x, x, 1.0) == pytest.approx(0.0, abs=1e-12)
    near, far = mmd_rbf(x, x + 0.3, 1.0), mmd_rbf(x, x + 1.0, 1.0)
    assert 0 < near < far
    assert mmd_rbf(x, y, 2.0) > mmd_rbf(x, y, 2.0, unbiased=True)
    # 1 sample each, biased: 1 + 1 - 2 exp(-||x - y||² / 2)
    assert mmd_rbf([[0.0, 0.0]], [[3.0, 4.0]], 1.0) == pytest.approx(2 - 2 * math.exp(-12.5))
    # U-statistic by hand: A = {0, 1}, B = {0, 2} on a line, sigma = 1
    k = [math.exp(-(d**2) / 2) for d in (0.0, 1.0, 2.0)]
    expected = k[1] + k[2] - 2 * (k[0] + k[2] + k[1] + k[1]) / 4
    got = mmd_rbf([[0.0], [1.0]], [[0.0], [2.0]], 1.0, unbiased=True)
    assert got == pytest.approx(expected)
    with pytest.raises(ConfigError, match="y"):
        mmd_rbf(x, rng.normal(size=(10, 3)))
    with pytest.raises(ConfigError, match="x"):
        mmd_rbf(x[:1], y, unbiased=True)


# ----------------------------------------------------------------------------- MMD / COV / 1-NNA

# two generated samples S0, S1 and three references R0, R1, R2
D_XY = np.array([[1.0, 4.0, 2.0], [3.0, 0.5, 5.0]])
D_XX = np.array([[0.0, 0.7], [0.7, 0.0]])
D_YY = np.array([[0.0, 1.5, 3.0], [1.5, 0.0, 2.5], [3.0, 2.5, 0.0]])


def test_mmd_nn_and_coverage_hand_computed() -> None:
    # column minima over samples: 1, 0.5, 2
    assert mmd_nn(D_XY) == pytest.approx(3.5 / 3)
    # S0 -> R0, S1 -> R1: two of three references covered
    assert coverage(D_XY) == pytest.approx(2 / 3)


def test_one_nna_hand_computed() -> None:
    # nearest in the union: R0->S0 (1), R1->S1 (0.5), R2->S0 (2), S0->S1 (0.7), S1->R1 (0.5):
    # only S0 is classified correctly.
    assert one_nna(D_XY, D_XX, D_YY) == pytest.approx(1 / 5)
    res = nn_metrics(torch.from_numpy(D_XY), D_XX, torch.from_numpy(D_YY))
    assert res == NNMetrics(mmd=pytest.approx(3.5 / 3), cov=pytest.approx(2 / 3), one_nna=0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mmd = 0.0  # type: ignore[misc]


def test_coverage_ties_go_to_the_lowest_reference() -> None:
    assert coverage(np.array([[1.0, 1.0], [1.0, 1.0]])) == pytest.approx(0.5)


def test_nn_metrics_generated_equals_reference() -> None:
    pts = _rng(13).normal(size=(30, 3))
    d = _pairwise(pts, pts)
    res = nn_metrics(d, d, d)
    assert res.mmd == pytest.approx(0.0)
    assert res.cov == pytest.approx(1.0)
    # every element's nearest other element is its twin of the opposite label
    assert res.one_nna == pytest.approx(0.0)


def test_one_nna_well_separated_sets_is_one() -> None:
    rng = _rng(14)
    gen, ref = rng.normal(size=(20, 2)), rng.normal(size=(25, 2)) + 50.0
    res = nn_metrics(_pairwise(gen, ref), _pairwise(gen, gen), _pairwise(ref, ref))
    assert res.one_nna == pytest.approx(1.0)
    assert res.cov < 0.3  # the samples all pick references on the near side of the far cluster


def test_one_nna_same_distribution_is_about_half() -> None:
    rng = _rng(15)
    gen, ref = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    acc = one_nna(_pairwise(gen, ref), _pairwise(gen, gen), _pairwise(ref, ref))
    assert 0.42 < acc < 0.58


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((D_XY, D_YY, D_YY), "d_xx"),
        ((D_XY, D_XX, D_XX), "d_yy"),
        ((D_XY[0], D_XX, D_YY), "d_xy"),
        ((np.zeros((0, 3)), D_XX, D_YY), "d_xy"),
        ((np.full((2, 3), np.nan), D_XX, D_YY), "d_xy"),
    ],
)
def test_nn_metrics_bad_input(args: tuple, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        nn_metrics(*args)


# ----------------------------------------------------------------------------- precision / recall


def test_knn_radii_hand_computed() -> None:
    pts = torch.tensor([[0.0], [1.0], [3.0], [6.0]], dtype=torch.float64)
    np.testing.assert_allclose(knn_radii(pts, k=1).numpy(), [1.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(knn_radii(pts, k=2, batch_size=3).numpy(), [3.0, 2.0, 3.0, 5.0])


def test_precision_recall_identical_and_disjoint() -> None:
    x = _rng(16).normal(size=(200, 5))
    assert precision_recall(x, x) == PrecisionRecall(precision=1.0, recall=1.0)
    far = precision_recall(x, x + 100.0)
    assert far.precision == pytest.approx(0.0)
    assert far.recall == pytest.approx(0.0)


def test_precision_recall_mode_dropping() -> None:
    rng = _rng(17)
    real = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 20.0])
    fake = rng.normal(size=(200, 2))  # only the first mode
    res = precision_recall(torch.from_numpy(real), fake, k=3)
    assert res.precision > 0.9
    assert 0.4 < res.recall < 0.55


def test_precision_recall_batching_does_not_change_the_result() -> None:
    rng = _rng(18)
    real, fake = rng.normal(size=(97, 4)), rng.normal(loc=0.5, size=(53, 4))
    assert precision_recall(real, fake, batch_size=7) == precision_recall(real, fake)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"real": np.zeros((3, 2)), "fake": np.zeros((10, 2))}, "real"),
        ({"real": np.zeros((10, 2)), "fake": np.zeros((10, 3))}, "fake"),
        ({"real": np.zeros(10), "fake": np.zeros((10, 2))}, "real"),
        ({"real": np.zeros((10, 2)), "fake": np.zeros((10, 2)), "k": 0}, "k"),
        ({"real": np.zeros((10, 2)), "fake": np.zeros((10, 2)), "batch_size": 0}, "batch_size"),
    ],
)
def test_precision_recall_bad_input(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        precision_recall(**kwargs)
