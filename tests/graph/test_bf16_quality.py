"""bf16 autocast sampling of the shipped community-small model keeps the quality of fp32.

8 graphs with the model's own sampler and steps, once in fp32 and once in bf16 from the same
seeds (the same node counts, the same categorical noise). 200 steps of categorical draws let a
rounding flip an edge now and then, so pairs are close but not all identical. Tolerances:

* the graph-statistics MMDs (the domain's metric: degree, clustering, orbit, spectral; TV
  kernel) between the bf16 and the fp32 set ≤ 0.8 × those between the fp32 set and a redraw of
  it from 8 other seeds: bf16 moves the set clearly less than drawing it again does (at 8
  graphs the MMD estimate of two draws of one model is far from 0; measured ratios 0.07, 0.51,
  0.47, 0.38);
* the mean edge Jaccard similarity of a pair (nodes are in the same slots) ≥ 0.6 and ≥ 0.3
  above that of graphs of different seeds (measured 0.83, with 3 of 8 pairs identical, vs 0.16).
"""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from polydit.graph.cli import DOMAIN
from polydit.graph.metrics import STATISTICS, mmd_metrics

pytestmark = pytest.mark.bf16

NUM = 8
MAX_MMD_RATIO = 0.8
MIN_TWIN_JACCARD = 0.6
MIN_JACCARD_MARGIN = 0.3


@pytest.fixture(scope="module")
def runs() -> dict[str, list[nx.Graph]]:
    """{"fp32" | "bf16": NUM graphs from seeds 0.., "redraw": NUM fp32 graphs from seeds NUM..}."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    graphs = {d: generator.sample(NUM, 0, dtype=d) for d in ("fp32", "bf16")}
    return graphs | {"redraw": generator.sample(NUM, NUM, dtype="fp32")}


def jaccard(a: nx.Graph, b: nx.Graph) -> float:
    """|E(a) ∩ E(b)| / |E(a) ∪ E(b)| over node-labelled edges (1 for two edgeless graphs)."""
    ea, eb = ({frozenset(e) for e in g.edges} for g in (a, b))
    return len(ea & eb) / len(ea | eb) if ea | eb else 1.0


def test_bf16_moves_the_graph_statistics_less_than_a_redraw(
    runs: dict[str, list[nx.Graph]],
) -> None:
    bf16 = mmd_metrics(runs["fp32"], runs["bf16"], families=("tv",))
    redraw = mmd_metrics(runs["fp32"], runs["redraw"], families=("tv",))
    for statistic in STATISTICS:
        key = f"{statistic}_tv"
        assert bf16[key] <= MAX_MMD_RATIO * redraw[key], (key, bf16[key], redraw[key])


def test_a_bf16_graph_shares_most_edges_with_its_fp32_twin(runs: dict[str, list[nx.Graph]]) -> None:
    fp32, bf16 = runs["fp32"], runs["bf16"]
    assert [g.number_of_nodes() for g in fp32] == [g.number_of_nodes() for g in bf16]
    twins = sum(jaccard(a, b) for a, b in zip(fp32, bf16, strict=True)) / NUM
    others = [jaccard(fp32[i], bf16[j]) for i, j in itertools.permutations(range(NUM), 2)]
    assert twins >= MIN_TWIN_JACCARD, twins
    assert twins >= sum(others) / len(others) + MIN_JACCARD_MARGIN, (twins, others)
