"""`GraphGenerator`: sample networkx graphs from a trained graph model (one-shot or PARD).

``GraphGenerator.from_pretrained("planar").sample(8, seed=0)`` → ``list[networkx.Graph]``.
Graph i depends on seed + i only (its size, its start state and every step's randomness), not on
the batch it was drawn in.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import torch
from torch import Tensor

from polydit.core import arguments
from polydit.core.config import from_dict
from polydit.core.edge_dit import EdgeDiT, EdgeDiTConfig
from polydit.core.pipeline import Pipeline, precision
from polydit.core.process import sample_categorical
from polydit.core.process.categorical import STEP_SEED_OFFSET
from polydit.graph.codec import GraphCodec
from polydit.graph.diffusion import GraphDiffusion, GraphDiffusionConfig, GraphSampling
from polydit.graph.network import run_network

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
#: PARD: block k of graph i starts its randomness from seed + i + k · BLOCK_SEED_STRIDE, and
#: its sizes are drawn from a generator seeded SIZE_SEED_OFFSET + seed + i
BLOCK_SEED_STRIDE = 1 << 20
SIZE_SEED_OFFSET = 3 * STEP_SEED_OFFSET


class GraphGenerator(Pipeline):
    """An :class:`~polydit.core.edge_dit.EdgeDiT` over graph states, its
    :class:`~polydit.graph.diffusion.GraphDiffusion` and :class:`GraphCodec`."""

    package = "polydit-graph"
    codec_type = GraphCodec
    model_config_type = EdgeDiTConfig
    sampling_config_type = GraphSampling
    default_sampling: ClassVar[GraphSampling] = GraphSampling()
    shipped_root = PRETRAINED
    process: GraphDiffusion
    codec: GraphCodec
    sampling: GraphSampling

    @classmethod
    def build_model(cls, config: EdgeDiTConfig, codec: dict[str, Any]) -> EdgeDiT:  # type: ignore[override]
        return EdgeDiT(config)

    @classmethod
    def process_from_config(cls, config: dict[str, Any], where: str) -> GraphDiffusion:
        return GraphDiffusion(from_dict(GraphDiffusionConfig, config, where=where))

    def sample(
        self,
        num: int,
        seed: int = 0,
        *,
        batch_size: int = 64,
        dtype: str = "fp32",
        **overrides: Any,
    ) -> list[nx.Graph]:
        """`num` graphs; overrides: steps (per block in PARD), sampler ("ancestral" | "dfm"),
        eta, omega, grid (see GraphSampling). Graphs are drawn `batch_size` at a time."""
        started = time.perf_counter()
        num, seed = arguments.count(num), arguments.seed(seed)
        batch_size = arguments.count(batch_size, "batch_size")
        settings = self.sampling.override(**overrides)
        draw = self._pard if self.process.mode == "pard" else self._oneshot
        graphs: list[nx.Graph] = []
        with torch.no_grad(), precision(dtype, self.device):
            for start in range(0, num, batch_size):
                count, chunk_started = min(batch_size, num - start), time.perf_counter()
                graphs += draw(count, seed + start, settings)
                self.record_chunk(count, time.perf_counter() - chunk_started)
        self.sampling_seconds += time.perf_counter() - started
        return graphs

    # --- one-shot (DiGress / DeFoG) -------------------------------------------------------
    def _oneshot(self, num: int, seed: int, settings: GraphSampling) -> list[nx.Graph]:
        template = self.codec.template(num, seed)
        mask = template.mask.to(self.device)
        nodes, edges = self._draw(mask, None, template.nodes, template.edges, seed, settings)
        template.edges = edges.cpu()
        return self.codec.decode(nodes.cpu(), template)

    # --- PARD: block by block -------------------------------------------------------------
    def _pard(self, num: int, seed: int, settings: GraphSampling) -> list[nx.Graph]:
        cfg, n = self.process.config, self.codec.max_nodes
        device = self.device
        size_rng = [torch.Generator().manual_seed(SIZE_SEED_OFFSET + seed + i) for i in range(num)]
        first = torch.tensor(cfg.first_block_counts, dtype=torch.float64)
        sizes = torch.tensor([int(torch.multinomial(first, 1, generator=g)) for g in size_rng])
        sizes = sizes.clamp_max(n).to(device)
        filled = torch.zeros(num, dtype=torch.long, device=device)
        nodes = torch.zeros(num, n, dtype=torch.long, device=device)
        edges = torch.zeros(num, n, n, dtype=torch.long, device=device)
        index = torch.arange(n, device=device)[None, :]
        block = 0
        while bool((sizes > 0).any()):
            new = (index >= filled[:, None]) & (index < (filled + sizes)[:, None])
            mask = index < (filled + sizes)[:, None]
            block_seed = seed + block * BLOCK_SEED_STRIDE
            nodes, edges = self._draw(mask, new, nodes, edges, block_seed, settings)
            filled = filled + sizes
            drawn = self._next_sizes(nodes, edges, index < filled[:, None], filled, size_rng)
            sizes = torch.where(sizes > 0, drawn, 0)  # a graph that stopped stays stopped
            block += 1
        template = self.codec.empty(filled.tolist())
        template.edges = edges.cpu()
        return self.codec.decode(nodes.cpu(), template)

    def _next_sizes(
        self,
        nodes: Tensor,
        edges: Tensor,
        mask: Tensor,
        filled: Tensor,
        rngs: list[torch.Generator],
    ) -> Tensor:
        """The size head's draw of each graph's next block (0 stops; never beyond max_nodes)."""
        t = torch.zeros(nodes.shape[0], device=nodes.device)
        out = run_network(self.model, self.codec, nodes, edges, mask, t, torch.zeros_like(mask))
        probs = out.size_logits.double().softmax(-1).cpu()
        room = (self.codec.max_nodes - filled).cpu()
        probs = probs * (torch.arange(probs.shape[1])[None, :] <= room[:, None])
        drawn = []
        for row, g, left in zip(probs, rngs, room.tolist(), strict=True):
            drawn.append(
                0 if left == 0 or row.sum() == 0 else int(torch.multinomial(row, 1, generator=g))
            )
        return torch.tensor(drawn, device=nodes.device)

    # --- the categorical sampler over the entries being generated --------------------------
    def _draw(
        self,
        mask: Tensor,
        new: Tensor | None,
        nodes: Tensor,
        edges: Tensor,
        seed: int,
        settings: GraphSampling,
    ) -> tuple[Tensor, Tensor]:
        """Sample the node types and edges of `new` nodes (every real node when None), keeping
        the rest of `nodes` / `edges` fixed; padding stays 0, edges stay symmetric."""
        nodes, edges = nodes.to(mask.device), edges.to(mask.device)
        free_nodes = mask if new is None else new
        pairs = mask[:, :, None] & mask[:, None, :]
        free_edges = pairs if new is None else pairs & (new[:, :, None] | new[:, None, :])
        free_edges = free_edges & ~torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)
        processes = [self.process.edges] + ([self.process.nodes] if self.process.nodes else [])

        def project(states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            upper = torch.triu(torch.where(free_edges, states[0], edges), diagonal=1)
            out = [upper + upper.transpose(1, 2)]
            if len(states) > 1:
                out.append(torch.where(free_nodes, states[1], nodes))
            return tuple(out)

        def denoise(states: tuple[Tensor, ...], t: Tensor) -> tuple[Tensor, ...]:
            current = states[1] if len(states) > 1 else nodes
            out = run_network(self.model, self.codec, current, states[0], mask, t, new)
            return (out.edge_logits, out.node_logits)[: len(states)]

        shapes = [tuple(edges.shape)] + ([tuple(nodes.shape)] if self.process.nodes else [])
        states = sample_categorical(
            processes,
            denoise,
            shapes,
            settings.steps,
            seed,
            sampler=settings.sampler,
            eta=settings.eta,
            omega=settings.omega,
            grid=settings.grid,
            project=project,
            device=mask.device,
        )
        return (states[1] if len(states) > 1 else nodes), states[0]
