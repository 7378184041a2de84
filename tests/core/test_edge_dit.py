"""The edge stream: identity at init, permutation equivariance, masks, symmetry, learning."""

from __future__ import annotations

import pytest
import torch
from random_weights import randomised

from polydit.core.edge_dit import EdgeDiT, EdgeDiTConfig
from polydit.core.errors import ConfigError
from polydit.core.nn.edges import block_causal_mask
from polydit.core.tokens import Tokens

CONFIG = EdgeDiTConfig(in_dim=3, hidden=32, depth=2, heads=4, pos_embed="none", edge_dim=2)


def graph(b: int = 2, n: int = 5, seed: int = 0) -> tuple[Tokens, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, 3, generator=g)
    e = torch.randn(b, n, n, 2, generator=g)
    return Tokens(x), (e + e.transpose(1, 2)) / 2, torch.rand(b, generator=g)


def test_a_fresh_edge_dit_has_identity_blocks_and_zero_outputs() -> None:
    torch.manual_seed(0)
    model = EdgeDiT(CONFIG)
    tokens, edges, t = graph()
    h, inputs = model.prepare(tokens, t)
    e = model.edge_embed(edges)
    for block in model.blocks:
        h2, e2 = block(h, e, inputs)
        assert torch.equal(h2, h) and torch.equal(e2, e)
    nodes, out = model(tokens, t, edges=edges)
    assert nodes.abs().max() == 0 and out.abs().max() == 0
    assert out.shape == (2, 5, 5, 2) and nodes.shape == (2, 5, 3)


def test_permuting_nodes_permutes_both_outputs() -> None:
    model = randomised(EdgeDiT(CONFIG))
    tokens, edges, t = graph()
    perm = torch.tensor([3, 0, 4, 1, 2])
    nodes, out = model(tokens, t, edges=edges)
    pn, pe = model(Tokens(tokens.x[:, perm]), t, edges=edges[:, perm][:, :, perm])
    assert torch.allclose(pn, nodes[:, perm], atol=1e-5)
    assert torch.allclose(pe, out[:, perm][:, :, perm], atol=1e-5)


def test_edges_change_node_outputs_and_edge_outputs_are_symmetric() -> None:
    model = randomised(EdgeDiT(CONFIG))
    tokens, edges, t = graph()
    nodes, out = model(tokens, t, edges=edges)
    other, _ = model(tokens, t, edges=edges.flip(-1))
    assert (nodes - other).abs().max() > 1e-3
    assert torch.allclose(out, out.transpose(1, 2))
    directed = randomised(EdgeDiT(CONFIG.replace(symmetric_edges=False)))
    _, out = directed(tokens, t, edges=edges)
    assert not torch.allclose(out, out.transpose(1, 2))


def test_padding_nodes_do_not_change_real_ones() -> None:
    model = randomised(EdgeDiT(CONFIG))
    tokens, edges, t = graph(b=1, n=4)
    padded = Tokens(
        torch.cat([tokens.x, torch.randn(1, 2, 3)], 1),
        None,
        torch.tensor([[1] * 4 + [0] * 2]).bool(),
    )
    big = torch.randn(1, 6, 6, 2)
    big[:, :4, :4] = edges
    nodes, out = model(tokens, t, edges=edges)
    pn, pe = model(padded, t, edges=big)
    assert torch.allclose(pn[:, :4], nodes, atol=1e-5)
    assert torch.allclose(pe[:, :4, :4], out, atol=1e-5)


def test_a_causal_block_mask_hides_later_blocks() -> None:
    blocks = torch.tensor([[0, 0, 1, 1, 2]])
    allowed = block_causal_mask(blocks)
    assert allowed[0].tolist()[1] == [True, True, False, False, False]
    assert allowed[0].tolist()[4] == [True] * 5
    model = randomised(EdgeDiT(CONFIG.replace(symmetric_edges=False)))
    tokens, edges, t = graph(b=1)
    nodes, out = model(tokens, t, edges=edges, allowed=allowed)
    x2, e2 = tokens.x.clone(), edges.clone()
    x2[:, 4], e2[:, 4], e2[:, :, 4] = 5.0, 5.0, 5.0  # change block 2 (its node and its pairs)
    n2, o2 = model(Tokens(x2), t, edges=e2, allowed=allowed)
    assert torch.allclose(n2[:, :4], nodes[:, :4], atol=1e-5)
    assert torch.allclose(o2[:, :4, :4], out[:, :4, :4], atol=1e-5)
    assert (n2[:, 4] - nodes[:, 4]).abs().max() > 1e-3


def test_an_edge_dit_learns_to_read_edges_into_nodes() -> None:
    """Each node's target is its degree under the 0/1 adjacency in channel 0: only the edge
    stream carries it, so the loss must fall well below predicting the mean."""
    torch.manual_seed(0)
    model = EdgeDiT(CONFIG.replace(in_dim=1, out_dim=1))
    g = torch.Generator().manual_seed(1)
    adj = (torch.rand(64, 6, 6, generator=g) < 0.4).float()
    adj = torch.triu(adj, 1)
    adj = adj + adj.transpose(1, 2)
    edges = torch.stack([adj, 1 - adj], -1)
    target = adj.sum(-1, keepdim=True) / 5
    x, t = torch.ones(64, 6, 1), torch.zeros(64)  # every node alike: only edges tell them apart
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = (model(Tokens(x), t, edges=edges)[0] - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * target.var().item()


def test_bad_edges_and_configs_are_clear_errors() -> None:
    model = EdgeDiT(CONFIG)
    tokens, _, t = graph()
    with pytest.raises(ConfigError, match=r"edges of shape \(2, 5, 5, 2\), got \(2, 5, 5, 3\)"):
        model(tokens, t, edges=torch.zeros(2, 5, 5, 3))
    with pytest.raises(ConfigError, match="no context tokens"):
        CONFIG.replace(context_dim=4)
    assert EdgeDiTConfig.from_dict(CONFIG.to_dict()) == CONFIG


def test_self_conditioning_starts_as_the_plain_model_and_then_reads_both_streams() -> None:
    from polydit.core.tokens import Cond
    from polydit.core.train import warm_start

    plain = randomised(EdgeDiT(CONFIG))
    model = EdgeDiT(CONFIG.replace(self_condition=True))
    added = warm_start(model, plain, "plain")
    embeds = ("edge_self_embed", "self_embed")
    assert added == [f"{name}.{p}" for name in embeds for p in ("bias", "weight")]
    tokens, edges, t = graph()
    estimate = Cond(self_cond=torch.randn_like(tokens.x))
    edges_self = torch.randn_like(edges)
    reference = plain(tokens, t, edges=edges)
    for out in (
        model(tokens, t, edges=edges),
        model(tokens, t, estimate, edges, edges_self=edges_self),
    ):
        assert all(torch.equal(a, b) for a, b in zip(out, reference, strict=True))
    torch.nn.init.normal_(model.edge_self_embed.weight)
    nodes, out = model(tokens, t, edges=edges, edges_self=edges_self)
    assert not torch.allclose(nodes, reference[0]) and not torch.allclose(out, reference[1])
    with pytest.raises(
        ConfigError, match="edges_self was given but this EdgeDiT has self_condition=False"
    ):
        plain(tokens, t, edges=edges, edges_self=edges_self)
    with pytest.raises(
        ConfigError, match=r"edges_self of shape \(2, 5, 5, 2\), got \(2, 5, 5, 1\)"
    ):
        model(tokens, t, edges=edges, edges_self=edges_self[..., :1])
