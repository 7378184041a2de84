"""Reference MMDs of the built-in graph sets: what a generator is compared against.

    python -m polydit.bench.graph.reference [--datasets planar,sbm,...] [--json OUT]

For each dataset: MMD² (both kernel families) of the train split against the test split — the
denominator of the MMD ratios — and of the train split against an Erdős–Rényi baseline (one
``gnp(n, density)`` graph per test graph, same node count and density, seeded), with the
baseline's ratio; validity and V.U.N. of the test split and of the baseline where the dataset
defines validity. Prints a markdown table per kernel family and the CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from polydit.core.atomic import atomic_write_text
from polydit.graph.data import BUILTINS, dataset_statistics, load_dataset
from polydit.graph.metrics import KERNEL_FAMILIES, STATISTICS, Descriptors, mmd_metrics, mmd_ratios
from polydit.graph.uniqueness import unique_novel_valid
from polydit.graph.validity import validity_check


def erdos_renyi_like(graphs: list[nx.Graph], seed: int = 0) -> list[nx.Graph]:
    """One G(n, p) graph per input graph with its node count n and density p."""
    rng = np.random.default_rng(seed)
    return [
        nx.gnp_random_graph(g.number_of_nodes(), nx.density(g), seed=int(rng.integers(2**31)))
        for g in graphs
    ]


def reference(name: str, seed: int = 0) -> dict[str, Any]:
    start = time.perf_counter()
    train, _ = load_dataset(name, "train")
    test, _ = load_dataset(name, "test")
    baseline = erdos_renyi_like(list(test.graphs), seed)
    train_descriptors = Descriptors.of(train.graphs)
    train_vs_test = mmd_metrics(train_descriptors, test.graphs)
    train_vs_er = mmd_metrics(train_descriptors, baseline)
    record: dict[str, Any] = {
        "dataset": name,
        "train": dataset_statistics(train.graphs),
        "test": dataset_statistics(test.graphs),
        "train_vs_test": train_vs_test,
        "train_vs_er": train_vs_er,
        "er_ratios": mmd_ratios(train_vs_er, train_vs_test),
    }
    check = validity_check(name)
    if check is not None:
        record["test_vun"] = unique_novel_valid(test.graphs, train.graphs, check).to_dict()
        record["er_vun"] = unique_novel_valid(baseline, train.graphs, check).to_dict()
    record["seconds"] = time.perf_counter() - start
    return record


def cpu() -> str:
    import torch

    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, torch CPU capability {torch.backends.cpu.get_cpu_capability()}"


def tables(records: list[dict[str, Any]]) -> str:
    lines = []
    for family in KERNEL_FAMILIES:
        lines += [
            f"\n{family} kernels: train vs test (train vs Erdős–Rényi)\n",
            "| dataset | " + " | ".join(STATISTICS) + " | mean ER ratio |",
            "|---" * (len(STATISTICS) + 2) + "|",
        ]
        for r in records:
            cells = [
                f"{r['train_vs_test'][f'{s}_{family}']:.2e} ({r['train_vs_er'][f'{s}_{family}']:.2e})"
                for s in STATISTICS
            ]
            lines.append(
                f"| {r['dataset']} | " + " | ".join(cells) + f" | {_finite_mean(r, family)} |"
            )
    lines += ["\nvalidity (test split / ER baseline) and V.U.N. against train\n"]
    lines += ["| dataset | valid test | V.U.N. test | valid ER | V.U.N. ER | seconds |"]
    lines += ["|---|---|---|---|---|---|"]
    for r in records:
        if "test_vun" in r:
            t, e = r["test_vun"], r["er_vun"]
            lines.append(
                f"| {r['dataset']} | {t['valid']:.3f} | {t['vun']:.3f} | {e['valid']:.3f} | "
                f"{e['vun']:.3f} | {r['seconds']:.1f} |"
            )
        else:
            lines.append(f"| {r['dataset']} | – | – | – | – | {r['seconds']:.1f} |")
    return "\n".join(lines)


def _finite_mean(record: dict[str, Any], family: str) -> str:
    """Mean ER ratio over the statistics whose train-vs-test MMD² is not 0 (marked *)."""
    ratios = [record["er_ratios"].get(f"{s}_{family}_ratio", np.nan) for s in STATISTICS]
    finite = [r for r in ratios if np.isfinite(r)]
    return f"{np.mean(finite):.0f}" + ("*" if len(finite) < len(ratios) else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(BUILTINS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the Erdős–Rényi baseline")
    parser.add_argument("--json", type=Path, help="also write every record to this JSON file")
    args = parser.parse_args()
    records = [reference(name, args.seed) for name in args.datasets.split(",")]
    print(f"CPU: {cpu()}")
    print(tables(records))
    print(
        "\n* mean over the statistics whose train-vs-test MMD² is > 0 (the ratio is inf for the rest)"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps({"cpu": cpu(), "records": records}, indent=2))


if __name__ == "__main__":
    main()
