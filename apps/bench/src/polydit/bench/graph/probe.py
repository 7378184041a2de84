"""The denoising probe of a one-shot graph model: what one network call makes of real test
graphs corrupted to time t — a pilot metric that moves long before sampled V.U.N. does.

    python -m polydit.bench.graph.probe --run runs/graph/planar-long [--step S]
        [--t 0.05,0.1,0.2,0.4] [--seed 0]
    python -m polydit.bench.graph.probe --model community-small

For each t, the test graphs' edges (and node types) are corrupted with the model's own process,
the model predicts the clean edges once, and each pair takes its most likely class. One JSON line
per t: ``edge_error`` (wrong pairs / real pairs), ``missed`` and ``extra`` edges per graph,
``exact`` (graphs recovered exactly) and ``valid`` (the dataset's validity check, e.g. planar and
connected), each beside the same numbers for the corrupted input itself (``noisy_*``: what a
model that copies its input would score).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import torch

from polydit.graph.data import load_dataset
from polydit.graph.diffusion import upper_pairs
from polydit.graph.network import run_network
from polydit.graph.pipeline import GraphGenerator
from polydit.graph.validity import validity_check


def scores(
    edges: torch.Tensor,
    truth: torch.Tensor,
    template: Any,
    generator: GraphGenerator,
    check: Any,
    nodes: torch.Tensor,
) -> dict[str, float]:
    """Pair errors of `edges` (B, N, N) against `truth` on the upper pairs, and validity."""
    pairs = upper_pairs(template.mask)
    wrong = (edges != truth) & pairs
    have, want = (edges > 0) & pairs, (truth > 0) & pairs
    template.edges = edges
    graphs = generator.codec.decode(nodes, template)
    out = {
        "edge_error": float(wrong.sum() / pairs.sum()),
        "missed": float((want & ~have).sum() / len(edges)),
        "extra": float((have & ~want).sum() / len(edges)),
        "exact": float((wrong.sum((1, 2)) == 0).float().mean()),
    }
    if check is not None:
        out["valid"] = sum(bool(check(g)) for g in graphs) / len(graphs)
    return out


@torch.no_grad()
def probe(generator: GraphGenerator, times: list[float], seed: int) -> list[dict[str, float]]:
    """One record per t (module docstring) over the test split of the model's dataset."""
    if generator.process.mode != "oneshot":
        raise SystemExit("the probe is defined for one-shot models")
    name = generator.codec.dataset
    test, _ = load_dataset(name, "test")
    dense = generator.codec.dense(test)
    batch = dense.batch(torch.arange(len(test)))
    mask, truth, clean_nodes = batch["mask"], batch["edges"], batch["nodes"]
    template = generator.codec.encode(batch)
    check = validity_check(name)
    records = []
    for t in times:
        gen = torch.Generator().manual_seed(seed)
        tt = torch.full((len(test),), t)
        pairs = upper_pairs(mask)
        nodes, noisy = generator.process.corrupt(clean_nodes, truth, mask, pairs, tt, gen)
        out = run_network(generator.model, generator.codec, nodes, noisy, mask, tt)
        upper = torch.triu(out.edge_logits.argmax(-1), 1) * pairs
        predicted = upper + upper.transpose(1, 2)
        record = {"t": t, **scores(predicted, truth, template, generator, check, clean_nodes)}
        noisy_scores = scores(noisy, truth, template, generator, check, clean_nodes)
        record.update({f"noisy_{k}": v for k, v in noisy_scores.items()})
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a training run folder (its EMA weights)")
    source.add_argument("--model", help="a shipped model name or a pretrained directory")
    parser.add_argument("--step", type=int, help="the run's checkpoint step (default: newest)")
    parser.add_argument("--t", default="0.05,0.1,0.2,0.4", help="comma-separated times")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.run:
        from polydit.core.train import from_run

        generator = from_run(GraphGenerator, args.run, args.step)
    else:
        generator = GraphGenerator.from_pretrained(args.model)
    generator.model.eval()
    for record in probe(generator, [float(t) for t in args.t.split(",")], args.seed):
        print(json.dumps({k: round(v, 4) for k, v in record.items()}), flush=True)


if __name__ == "__main__":
    main()
