"""Training recipes: "oneshot" (DiGress-style, all nodes and edges at once) and "pard" (PARD).

A one-shot step corrupts every node and edge at one t and scores ``CE(nodes) + λ · CE(edges)``.
A PARD step picks per graph a block k uniformly among its blocks and "stop": earlier blocks are
clean, block k (its node types, its edges to earlier nodes and within itself) is corrupted, and
one forward pass scores the denoiser on block k and the size head on |block k| (0 = stop):
PARD's batched-sequential training with block-causal attention (:mod:`polydit.graph.network`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from polydit.core.edge_dit import EdgeDiT
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainData, TrainSpec
from polydit.graph.codec import DenseGraphs, GraphCodec
from polydit.graph.data import load_dataset
from polydit.graph.diffusion import GraphDiffusion, GraphSampling, fitted_config, upper_pairs
from polydit.graph.network import network_config, run_network
from polydit.graph.pipeline import GraphGenerator


@dataclass(frozen=True)
class GraphSpec(TrainSpec):
    """What ``train --config`` sets. data: a built-in name or a path (``--data`` wins);
    max_nodes: the model's largest graph (default: the training set's); walk_steps: random-walk
    feature steps; the EdgeDiT's width and depth; the processes' transition and schedule;
    edge_weight: λ; hops: PARD's peeling hops; sampling: the defaults stored with the model."""

    data: str = "planar"
    max_nodes: int | None = None
    walk_steps: int = 12
    hidden: int = 128
    depth: int = 6
    heads: int = 4
    edge_hidden: int = 32
    transition: str = "marginal"
    schedule: str = "cosine"
    edge_weight: float = 5.0
    hops: int = 1
    sampling: GraphSampling = field(default_factory=GraphSampling)
    mode: ClassVar[str] = "oneshot"
    train: TrainConfig = TrainConfig(steps=20000, batch_size=32, lr=2e-4)


@dataclass(frozen=True)
class PardSpec(GraphSpec):
    """GraphSpec with PARD's sampling default: 50 steps per block (PARD's planar config)."""

    sampling: GraphSampling = GraphSampling(steps=50)
    mode: ClassVar[str] = "pard"


def graph_data(spec: GraphSpec, source: str | None, flags: dict[str, Any]) -> TrainData:
    """The dense train split of `source` or ``spec.data`` (PARD's with its blocks)."""
    graphs, skipped = load_dataset(
        source or spec.data,
        "train",
        skip_bad=bool(flags.get("skip_bad")),
        max_nodes=spec.max_nodes,
        **{k: flags[k] for k in ("node_attr", "edge_attr") if flags.get(k)},
    )
    codec = GraphCodec.for_graphs(graphs, spec.max_nodes, spec.walk_steps)
    dense = codec.dense(graphs, spec.hops if spec.mode == "pard" else None)
    return TrainData(dense, graphs.name, skipped)


def build(spec: GraphSpec, dataset: DenseGraphs, seed: int) -> GraphGenerator:
    """A fresh generator, its processes fitted to `dataset`, the EdgeDiT drawn after seeding."""
    torch.manual_seed(seed)
    options = {"hops": spec.hops} if spec.mode == "pard" else {}
    config = fitted_config(
        spec.mode, dataset, spec.transition, spec.schedule, edge_weight=spec.edge_weight, **options
    )
    size = {k: getattr(spec, k) for k in ("hidden", "depth", "heads", "edge_hidden")}
    net = network_config(dataset.codec, config, **size)
    return GraphGenerator(EdgeDiT(net), GraphDiffusion(config), spec.sampling, codec=dataset.codec)


def oneshot_loss(spec: GraphSpec, pipeline: GraphGenerator) -> LossFn:
    process, codec = pipeline.process, pipeline.codec

    def loss(model: EdgeDiT, batch: dict[str, Tensor], generator: torch.Generator) -> Any:
        nodes, edges, mask = batch["nodes"], batch["edges"], batch["mask"]
        t = torch.rand(nodes.shape[0], generator=generator).to(nodes.device)
        pairs = upper_pairs(mask)
        noisy_nodes, noisy_edges = process.corrupt(nodes, edges, mask, pairs, t, generator)
        out = run_network(model, codec, noisy_nodes, noisy_edges, mask, t)
        return process.loss(out.node_logits, out.edge_logits, nodes, edges, mask, pairs)

    return loss


def pard_loss(spec: GraphSpec, pipeline: GraphGenerator) -> LossFn:
    process, codec = pipeline.process, pipeline.codec

    def loss(model: EdgeDiT, batch: dict[str, Tensor], generator: torch.Generator) -> Any:
        nodes, edges, blocks = batch["nodes"], batch["edges"], batch["blocks"]
        b = nodes.shape[0]
        count = blocks.max(1).values + 1  # blocks per graph; k = count is "stop"
        u = torch.rand(b, generator=generator).to(nodes.device)
        k = (u * (count + 1)).long().clamp_max(count)
        t = torch.rand(b, generator=generator).to(nodes.device)
        visible = (blocks >= 0) & (blocks <= k[:, None])
        new = blocks == k[:, None]
        free_edges = upper_pairs(visible) & (new[:, :, None] | new[:, None, :])
        noisy_nodes, noisy_edges = process.corrupt(nodes, edges, new, free_edges, t, generator)
        out = run_network(model, codec, noisy_nodes, noisy_edges, visible, t, new)
        scores = process.loss(out.node_logits, out.edge_logits, nodes, edges, new, free_edges)
        return process.with_size_loss(scores, out.size_logits, new, k > 0)

    return loss


ONESHOT = Recipe("oneshot", GraphSpec, GraphGenerator, graph_data, build, oneshot_loss)
PARD = Recipe("pard", PardSpec, GraphGenerator, graph_data, build, pard_loss)
