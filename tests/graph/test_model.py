"""The graph model: blocks, features, codec, one-shot and PARD sampling, training losses."""

import networkx as nx
import numpy as np
import pytest
import torch

from polydit.graph.blocks import block_index, hop_weighted_degrees, peel_blocks
from polydit.graph.codec import GraphCodec
from polydit.graph.data import load_builtin
from polydit.graph.features import random_walk_features
from polydit.graph.network import run_network
from polydit.graph.pipeline import GraphGenerator
from polydit.graph.train import ONESHOT, PARD

TINY = {"hidden": 32, "depth": 1, "heads": 2, "edge_hidden": 8, "walk_steps": 4}


def tiny(recipe, data="community-small", seed=0):
    spec = recipe.spec(data=data, **TINY)
    data = recipe.data(spec, None, {})
    return spec, data, recipe.build(spec, data.dataset, seed)


def test_peeling_grows_from_the_core_and_covers_every_node_once() -> None:
    star = nx.star_graph(5)  # centre 0 with leaves 1..5
    assert peel_blocks(star, 1) == [[0], [1, 2, 3, 4, 5]]
    for graph in load_builtin("planar").graphs[:5]:
        blocks = peel_blocks(graph, 1)
        flat = sorted(v for b in blocks for v in b)
        assert flat == list(range(graph.number_of_nodes()))
        index = block_index(blocks, graph.number_of_nodes())
        # the last block holds the nodes of minimum degree in the whole graph
        degrees = dict(graph.degree())
        assert {degrees[v] for v in blocks[-1]} == {min(degrees.values())}
        assert (index >= 0).all()
    assert peel_blocks(star, 0) == [list(range(6))]


def test_hop_weighted_degree_breaks_degree_ties_by_farther_hops() -> None:
    path = nx.to_numpy_array(nx.path_graph(5))  # 0-1-2-3-4
    w = hop_weighted_degrees(path, 2)
    assert w[1] > w[0] and w[2] > w[1]  # 1 and 2 have degree 2, but 2 reaches more in 2 hops
    assert hop_weighted_degrees(path, 1).tolist() == [2, 3, 3, 3, 2]  # 1 + degree


def test_random_walk_features_see_triangles() -> None:
    triangle_and_tail = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3)])
    triangle_and_tail.add_node(4)
    a = torch.tensor(nx.to_numpy_array(triangle_and_tail, nodelist=range(5)))[None].float()
    mask = torch.tensor([[True] * 4 + [False]])
    node, pair = random_walk_features(a, mask, 3)
    assert torch.allclose(pair[0, :4, :4, 0].sum(-1), torch.ones(4))
    assert (node[0, :3, 2] > 0).all() and node[0, 3, 2] == 0  # P³ᵢᵢ > 0 only on the triangle
    assert pair[0, 4].abs().sum() == 0 and pair[0, :, 4].abs().sum() == 0  # padding walks nowhere


@pytest.mark.parametrize("hops", [None, 1])
def test_codec_round_trips_graphs(hops: int | None) -> None:
    graphs = load_builtin("community-small")
    codec = GraphCodec.for_graphs(graphs)
    dense = codec.dense(graphs, hops)
    template = codec.encode(dense.batch(torch.arange(len(graphs))))
    decoded = codec.decode(template.nodes, template)
    for original, back in zip(graphs, decoded, strict=True):
        assert nx.is_isomorphic(original, back)
        if hops is None:
            assert set(original.edges()) == {tuple(sorted(e)) for e in back.edges()}
    assert codec.size_counts[codec.max_nodes] > 0 and sum(codec.size_counts) == len(graphs)


@pytest.mark.parametrize("recipe", [ONESHOT, PARD], ids=["oneshot", "pard"])
def test_samples_are_simple_graphs_seeded_per_graph(recipe) -> None:
    _, _, generator = tiny(recipe)
    graphs = generator.sample(4, seed=3, steps=3)
    again = generator.sample(2, seed=5, steps=3)
    for a, b in zip(graphs[2:], again, strict=True):
        assert a.number_of_nodes() == b.number_of_nodes()
        assert set(a.edges()) == set(b.edges())
    sizes = set(np.flatnonzero(generator.codec.size_counts))
    for graph in graphs:
        assert nx.number_of_selfloops(graph) == 0
        if recipe is ONESHOT:
            assert graph.number_of_nodes() in sizes
        assert 1 <= graph.number_of_nodes() <= generator.codec.max_nodes


def test_a_pard_graph_whose_size_head_drew_0_stays_stopped(monkeypatch) -> None:
    _, _, generator = tiny(PARD)
    script = iter([[0, 2], [3, 2], [5, 0]])  # graph 0 stops, then its head "draws" 3 and 5
    firsts: list[list[int]] = []

    def scripted(nodes, edges, mask, filled, rngs):
        firsts.append(filled.tolist())
        return torch.tensor(next(script))

    monkeypatch.setattr(generator, "_next_sizes", scripted)
    graphs = generator.sample(2, seed=1, steps=2)
    first = firsts[0]
    assert [g.number_of_nodes() for g in graphs] == [first[0], first[1] + 2 + 2]
    assert len(firsts) == 3  # the loop ends once every graph has stopped


def test_pard_earlier_nodes_never_see_the_new_block() -> None:
    _, data, generator = tiny(PARD)
    torch.manual_seed(0)
    for p in generator.model.parameters():  # non-zero heads, so outputs depend on inputs
        p.data.normal_(0, 0.3)
    batch = data.dataset.batch(torch.arange(2))
    new = batch["blocks"] == 2
    mask = (batch["blocks"] >= 0) & (batch["blocks"] <= 2)
    edges = batch["edges"].clone()
    other = edges.clone()
    touch = new[:, :, None] | new[:, None, :]
    other[touch & mask[:, :, None] & mask[:, None, :]] = (
        1 - other[touch & mask[:, :, None] & mask[:, None, :]]
    )
    other = other * (1 - torch.eye(other.shape[1], dtype=torch.long))
    t = torch.tensor([0.3, 0.7])
    a = run_network(generator.model, generator.codec, batch["nodes"], edges, mask, t, new)
    b = run_network(generator.model, generator.codec, batch["nodes"], other, mask, t, new)
    assert torch.allclose(a.size_logits, b.size_logits, atol=1e-5)
    assert not torch.allclose(a.edge_logits, b.edge_logits)


@pytest.mark.parametrize("recipe", [ONESHOT, PARD], ids=["oneshot", "pard"])
def test_losses_start_at_chance_and_fall(recipe) -> None:
    spec, data, generator = tiny(recipe)
    loss_fn = recipe.loss(spec, generator)
    model = generator.model.train()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    batch = data.dataset.batch(torch.arange(32))
    first = loss_fn(model, batch, torch.Generator().manual_seed(0))
    assert float(first["edges"].detach()) == pytest.approx(
        np.log(2), abs=1e-4
    )  # zero-initialised head
    for step in range(30):
        out = loss_fn(model, batch, torch.Generator().manual_seed(step % 3))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    last = loss_fn(model, batch, torch.Generator().manual_seed(0))
    assert float(last["edges"].detach()) < 0.8 * float(first["edges"].detach())


def test_pretrained_round_trip_is_bit_exact(tmp_path) -> None:
    _, _, generator = tiny(PARD)
    for p in generator.model.parameters():
        p.data.normal_(0, 0.1)
    generator.save_pretrained(tmp_path / "m")
    back = GraphGenerator.from_pretrained(tmp_path / "m")
    assert back.codec == generator.codec and back.process.config == generator.process.config
    assert back.sampling == generator.sampling
    for (k, a), (_, b) in zip(
        generator.model.state_dict().items(), back.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k


def test_a_categorical_model_rejects_a_continuous_sampler() -> None:
    from polydit.core.errors import ConfigError

    _, _, generator = tiny(ONESHOT)
    with pytest.raises(ConfigError, match="ancestral"):
        generator.sample(1, steps=2, sampler="euler")
