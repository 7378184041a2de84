import networkx as nx
import numpy as np
import pytest

from polydit.graph.data import load_dataset
from polydit.graph.metrics import (
    KERNEL_FAMILIES,
    STATISTICS,
    Descriptors,
    graph_mmd,
    mean_orbit_counts,
    mmd_metrics,
    mmd_ratios,
    spectral_histogram,
)


@pytest.fixture(scope="module")
def planar() -> tuple[Descriptors, Descriptors, Descriptors]:
    """Descriptors of planar train, test, and Erdős–Rényi graphs of the test graphs' density."""
    train, _ = load_dataset("planar", "train")
    test, _ = load_dataset("planar", "test")
    er = [nx.gnp_random_graph(64, nx.density(g), seed=i) for i, g in enumerate(test)]
    return Descriptors.of(train.graphs), Descriptors.of(test.graphs), Descriptors.of(er)


def test_mmd_of_a_set_with_itself_is_zero(planar) -> None:
    train, _, _ = planar
    for value in mmd_metrics(train, train).values():
        assert abs(value) < 1e-12


def test_train_vs_test_is_far_below_train_vs_erdos_renyi(planar) -> None:
    train, test, er = planar
    real, baseline = mmd_metrics(train, test), mmd_metrics(train, er)
    assert set(real) == {f"{s}_{f}" for s in STATISTICS for f in KERNEL_FAMILIES}
    for key, value in real.items():
        assert value < baseline[key] / 5, key  # measured margins: 17× to 7,700×


def test_ratios_and_descriptor_shapes(planar) -> None:
    train, test, er = planar
    reference = mmd_metrics(train, test)
    ratios = mmd_ratios(mmd_metrics(train, er), reference)
    assert ratios["mean_ratio_tv"] > 5 and ratios["degree_tv_ratio"] > 1
    assert mmd_ratios(reference, reference)["mean_ratio_emd"] == pytest.approx(1.0)
    graph = nx.cycle_graph(6)
    assert mean_orbit_counts(graph).tolist()[:3] == [2.0, 2.0, 1.0]
    spectrum = spectral_histogram(graph)
    assert spectrum.shape == (200,) and spectrum.sum() == pytest.approx(1.0)


def test_empty_generated_graphs_are_dropped() -> None:
    reference = [nx.path_graph(5), nx.cycle_graph(5)]
    with_empty = [*reference, nx.Graph()]
    assert graph_mmd(reference, with_empty, "degree") == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(graph_mmd(reference, [nx.Graph()], "orbit"))


def test_ratio_over_a_zero_baseline_is_inf_or_undefined() -> None:
    ratios = mmd_ratios(
        {"degree_tv": 0.2, "clustering_tv": 1e-3, "orbit_tv": 4e-16},
        {"degree_tv": 0.1, "clustering_tv": 0.0, "orbit_tv": 4e-16},
    )
    assert ratios["degree_tv_ratio"] == pytest.approx(2.0)
    assert ratios["clustering_tv_ratio"] == float("inf")
    assert np.isnan(ratios["orbit_tv_ratio"])
    assert ratios["mean_ratio_tv"] == float("inf")
    assert mmd_ratios({"degree_emd": 0.3}, {"degree_emd": 0.1})["mean_ratio_emd"] == pytest.approx(
        3
    )
