"""Quality and speed of graph models: every metric of ``polydit-graph eval`` plus graphs/s.

    python -m polydit.bench.graph.models --model community-small [--run runs/graph/cs-pard]
        [--num 128] [--steps N] [--variant sampler=dfm,eta=50,omega=0.05,grid=polydec ...]
        [--json OUT]
    python -m polydit.bench.graph.models --scale 16,32,64,128,256

A ``--model`` is a shipped name or a pretrained directory; a ``--run`` a run folder (its newest
checkpoint's EMA weights: a progress measurement). Each ``--variant`` (sampling overrides,
KEY=VALUE joined by commas; none: the model's own settings) is measured on every source with the
same seeds. ``--scale`` times one one-shot training step
(batch 8, the shipped width) per node count, each in its own process, and reports its peak RSS:
the dense n × n edge state makes both grow as O(n²). Prints markdown tables and the CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from polydit.bench.graph.reference import cpu
from polydit.core.atomic import atomic_write_text

COLUMNS = ("degree", "clustering", "orbit", "spectral")


def parse_variant(text: str) -> dict[str, Any]:
    """ "sampler=dfm,eta=50,grid=polydec" → overrides; numbers become int/float."""
    overrides: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--variant {text!r}: expected KEY=VALUE pairs joined by commas")
        try:
            overrides[key] = int(value)
        except ValueError:
            try:
                overrides[key] = float(value)
            except ValueError:
                overrides[key] = value
    return overrides


def measure(source: str, is_run: bool, num: int, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per variant in `overrides` (a list of sampling overrides)."""
    from polydit.core.train import from_run
    from polydit.graph.evaluate import score_graphs
    from polydit.graph.pipeline import GraphGenerator

    generator = (
        from_run(GraphGenerator, source) if is_run else GraphGenerator.from_pretrained(source)
    )
    records = []
    for variant in overrides:
        start = time.perf_counter()
        graphs = generator.sample(num, seed=0, **variant)
        seconds = time.perf_counter() - start
        settings = generator.sampling.override(**variant)
        record = score_graphs(graphs, generator.codec.dataset)
        record.update(
            source=source,
            mode=generator.process.mode,
            steps=settings.steps,
            sampling=sampling_label(settings),
            parameters=sum(p.numel() for p in generator.model.parameters()),
            graphs_per_s=num / seconds,
        )
        records.append(record)
    return records


def sampling_label(settings: Any) -> str:
    """ "ancestral" or e.g. "dfm η=50 ω=0.05 polydec"."""
    label = settings.sampler
    if settings.sampler == "dfm":
        label += f" η={settings.eta:g} ω={settings.omega:g}"
    return label if settings.grid == "uniform" else f"{label} {settings.grid}"


def quality_table(records: list[dict[str, Any]]) -> str:
    lines = []
    for family in ("emd", "tv"):
        lines += [
            f"\n{family} kernels: MMD² vs test (ratio over train vs test)\n",
            "| model | mode | sampler | steps | " + " | ".join(COLUMNS) + " | V.U.N. | graphs/s |",
            "|---" * (len(COLUMNS) + 6) + "|",
        ]
        for r in records:
            cells = [f"{r[f'{c}_{family}']:.4f} ({r[f'{c}_{family}_ratio']:.1f})" for c in COLUMNS]
            vun = f"{r['vun']:.3f}" if "vun" in r else f"– (unique+novel {r['unique_novel']:.2f})"
            lines.append(
                f"| {r['source']} | {r['mode']} | {r['sampling']} | {r['steps']} | "
                + " | ".join(cells)
                + f" | {vun} | {r['graphs_per_s']:.2f} |"
            )
    return "\n".join(lines)


def one_step(nodes: int) -> dict[str, float]:
    """Time and peak RSS of one one-shot training step on Erdős–Rényi graphs of `nodes`."""
    import networkx as nx
    import torch

    from polydit.graph.codec import GraphCodec
    from polydit.graph.data import GraphSet
    from polydit.graph.train import ONESHOT

    torch.set_num_threads(1)
    graphs = GraphSet(
        tuple(nx.gnp_random_graph(nodes, 4 / nodes, seed=i) for i in range(8)), "er", "all"
    )
    spec = ONESHOT.spec()
    codec = GraphCodec.for_graphs(graphs, walk_steps=spec.walk_steps)
    dense = codec.dense(graphs)
    generator = ONESHOT.build(spec, dense, 0)
    loss_fn = ONESHOT.loss(spec, generator)
    model = generator.model.train()
    batch = dense.batch(torch.arange(8))
    times = []
    for i in range(3):
        start = time.perf_counter()
        loss_fn(model, batch, torch.Generator().manual_seed(i))["loss"].backward()
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"nodes": nodes, "seconds_per_step": min(times[1:]), "peak_rss_mb": peak_mb}


def scale_table(sizes: list[int]) -> str:
    lines = ["\n| nodes | s / step (batch 8) | peak RSS MB |", "|---|---|---|"]
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "polydit.bench.graph.models", "--one-step", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(f"| {n} | {r['seconds_per_step']:.2f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="shipped name or directory")
    parser.add_argument("--run", action="append", default=[], help="a run folder")
    parser.add_argument("--num", type=int, default=128)
    parser.add_argument("--steps", type=int, help="sampling steps (default: each model's)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="sampling overrides KEY=VALUE,... (repeatable); default: the model's settings",
    )
    parser.add_argument("--scale", help="comma-separated node counts to time a training step at")
    parser.add_argument("--one-step", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the records to this JSON file")
    args = parser.parse_args()
    if args.one_step:
        print(json.dumps(one_step(args.one_step)))
        return
    print(f"CPU: {cpu()}")
    steps = {} if args.steps is None else {"steps": args.steps}
    variants = [{**steps, **parse_variant(v)} for v in args.variant] or [steps]
    records = [r for m in args.model for r in measure(m, False, args.num, variants)]
    records += [r for run in args.run for r in measure(run, True, args.num, variants)]
    if records:
        print(quality_table(records))
    if args.scale:
        print(scale_table([int(n) for n in args.scale.split(",")]))
    if args.json:
        atomic_write_text(args.json, json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
