"""Benchmarks behind the polydit-policy README table (not tests).

    python -m polydit.bench.policy.bench baselines --data runs/demos_mt10 \
        --config packages/policy/configs/mt10.json --out runs/baselines
    python -m polydit.bench.policy.bench eval --model mt10-dit --episodes 50 --seed 1000 \
        --out runs/eval_dit.json
    python -m polydit.bench.policy.bench table runs/eval_dit/ runs/eval_mlp_single.json ...
    python -m polydit.bench.policy.bench cost --model mt10-dit

`baselines` trains the two MLP-BC policies on the same demonstrations, codec (normalisation,
horizon, history) and task list as the DiT trained with the same --config. `eval` runs the
closed-loop protocol of `polydit-policy eval` and writes per-task results; `table` prints the
Markdown table (a directory argument merges per-task eval JSONs). A --model is a shipped model
name or a pretrained directory.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from polydit.core.atomic import atomic_write_text


def _baselines(args: argparse.Namespace) -> None:
    import torch

    from polydit.policy.baselines import KINDS, train_mlp
    from polydit.policy.data import demonstrations
    from polydit.policy.train import PolicyTrainSpec

    torch.set_num_threads(1)
    spec = PolicyTrainSpec().merged(json.loads(Path(args.config).read_text()), where=args.config)
    dataset = demonstrations(spec, args.data, {}).dataset
    mlp = {"lr": 1e-3, "weight_decay": 1e-4, "warmup_steps": 200, "checkpoint_every": 1000}
    config = PolicyTrainSpec().train.replace(
        steps=args.steps, log_every=100, **mlp
    )  # DiT's batch, EMA
    for kind in KINDS:
        started = time.perf_counter()
        policy = train_mlp(dataset, kind, Path(args.out) / f"run_{kind}", config)
        seconds = time.perf_counter() - started
        policy.save_pretrained(
            Path(args.out) / f"mlp-{kind}",
            metrics={"training": {"steps": args.steps, "seconds": seconds}},
        )
        print(f"mlp-{kind}: {args.steps} steps in {seconds:.0f}s", flush=True)


def _eval(args: argparse.Namespace) -> None:
    import torch

    from polydit.policy import load_pretrained
    from polydit.policy.env import resolve_tasks
    from polydit.policy.metrics import eval_seeds, evaluate_policy

    torch.set_num_threads(1)
    policy = load_pretrained(args.model)
    codec = policy.codec
    tasks = codec.tasks if args.task is None else resolve_tasks(args.task)
    seeds = eval_seeds(args.seed, args.episodes, codec.demo_seed_max)
    started = time.perf_counter()
    options = {} if args.steps is None else {"steps": args.steps}
    metrics, _ = evaluate_policy(
        policy, tasks, seeds, num_envs=args.num_envs, action_steps=args.action_steps, **options
    )
    metrics["eval_seconds"] = time.perf_counter() - started
    record = {
        "model": str(args.model),
        "seed": args.seed,
        "action_steps": args.action_steps,
        "steps": args.steps,
        "metrics": metrics,
    }
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    print(json.dumps(metrics))


def _load_record(path: Path) -> dict:
    """One eval JSON, or a directory of per-task eval JSONs merged into one record."""
    if not path.is_dir():
        return json.loads(path.read_text())
    parts = [json.loads(p.read_text()) for p in sorted(path.glob("*.json"))]
    metrics: dict[str, float] = {}
    for part in parts:
        metrics.update({k: v for k, v in part["metrics"].items() if "." in k})
    tasks = [k for k in metrics if k.endswith(".success_rate")]
    lengths = [k for k in metrics if k.endswith(".mean_episode_length")]
    latencies = sorted(p["metrics"]["latency_ms_per_chunk"] for p in parts)
    metrics["success_rate"] = sum(metrics[k] for k in tasks) / len(tasks)
    metrics["mean_episode_length"] = sum(metrics[k] for k in lengths) / len(lengths)
    metrics["latency_ms_per_chunk"] = latencies[len(latencies) // 2]
    return {"model": parts[0]["model"], "metrics": metrics}


def _table(args: argparse.Namespace) -> None:
    records = [_load_record(Path(p)) for p in args.results]
    names = args.names.split(",") if args.names else [Path(r["model"]).name for r in records]
    tasks = sorted(
        {k.rsplit(".", 1)[0] for r in records for k in r["metrics"] if k.endswith(".success_rate")}
    )
    print("| task | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for task in tasks:
        cells = [
            f"{100 * r['metrics'][f'{task}.success_rate']:.0f}"
            if f"{task}.success_rate" in r["metrics"]
            else "–"
            for r in records
        ]
        print(f"| {task} | " + " | ".join(cells) + " |")
    means = [f"**{100 * r['metrics']['success_rate']:.1f}**" for r in records]
    print("| **mean over the evaluated tasks** | " + " | ".join(means) + " |")
    common = [t for t in tasks if all(f"{t}.success_rate" in r["metrics"] for r in records)]
    if len(common) < len(tasks):
        paired = [
            f"{100 * sum(r['metrics'][f'{t}.success_rate'] for t in common) / len(common):.1f}"
            for r in records
        ]
        print(f"| mean over the {len(common)} tasks all evaluated | " + " | ".join(paired) + " |")
    lengths = [f"{r['metrics']['mean_episode_length']:.0f}" for r in records]
    print("| mean episode length | " + " | ".join(lengths) + " |")
    latency = [f"{r['metrics']['latency_ms_per_chunk']:.1f}" for r in records]
    print("| latency per chunk (ms) | " + " | ".join(latency) + " |")


def _cost(args: argparse.Namespace) -> None:
    """Parameters and FLOPs per chunk of the shipped architecture, dense vs MoDE-style MoE, and
    the latency per chunk of the MoE with and without the expert cache (weights untrained: cost
    only)."""
    import numpy as np
    import torch

    from polydit.core.dit import DiT
    from polydit.policy import load_pretrained
    from polydit.policy.model import dit_cost, policy_dit_config
    from polydit.policy.pipeline import PolicyGenerator

    torch.set_num_threads(1)
    base = load_pretrained(args.model)
    codec, cfg = base.codec, base.model.config
    steps = base.sampling.steps
    history = np.zeros((1, codec.n_obs, codec.obs_dim), np.float32)
    print("| variant | params total | params active | MFLOPs per chunk | latency per chunk (ms) |")
    print("|---|---|---|---|---|")
    for moe in (False, True):
        torch.manual_seed(0)
        model = DiT(
            policy_dit_config(codec, hidden=cfg.hidden, depth=cfg.depth, heads=cfg.heads, moe=moe)
        )
        gen = PolicyGenerator(model, base.process, base.sampling, codec=codec)
        cost = dit_cost(model, codec.horizon, codec.num_context, steps)
        for cached in (False, True) if moe else (False,):
            gen.use_expert_cache = cached
            gen.predict(history, codec.tasks[0])
            times = []
            for _ in range(args.calls):
                started = time.perf_counter()
                gen.predict(history, codec.tasks[0])
                times.append(time.perf_counter() - started)
            name = "dense" if not moe else f"MoE 4 experts top-2 + shared, cache {cached}"
            print(
                f"| {name} | {cost.params_total:,} | {cost.params_active:,} | "
                f"{cost.flops_per_chunk / 1e6:.1f} | {1000 * float(np.median(times)):.1f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m polydit.bench.policy.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("baselines", help="train the MLP-BC baselines")
    b.add_argument("--data", required=True)
    b.add_argument("--config", required=True, help="the DiT's training --config (chunking)")
    b.add_argument("--out", required=True)
    b.add_argument("--steps", type=int, default=5000)
    e = sub.add_parser("eval", help="closed-loop evaluation to a JSON file")
    e.add_argument("--model", required=True)
    e.add_argument("--task", default=None)
    e.add_argument("--episodes", type=int, default=50)
    e.add_argument("--seed", type=int, default=1000)
    e.add_argument("--num-envs", type=int, default=50)
    e.add_argument("--action-steps", type=int, default=None, help="k (default: the model's)")
    e.add_argument("--steps", type=int, default=None, help="sampling steps (default: model's)")
    e.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("table", help="Markdown table of eval JSON files")
    t.add_argument("results", nargs="+")
    t.add_argument("--names", default=None, help="comma-separated column names")
    c = sub.add_parser("cost", help="params/FLOPs/latency: dense vs MoE, expert cache on/off")
    c.add_argument("--model", required=True)
    c.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    commands = {"baselines": _baselines, "eval": _eval, "table": _table, "cost": _cost}
    commands[args.command](args)


if __name__ == "__main__":
    main()
