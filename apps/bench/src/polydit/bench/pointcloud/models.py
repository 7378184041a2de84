"""Quality and speed of point-cloud models: every metric of ``polydit-pointcloud eval`` per
class against the test split, the issue's bar, and shapes/s.

    python -m polydit.bench.pointcloud.models --run runs/pointcloud/chair-small
        [--model chair-small] [--label NAME] [--num N] [--steps N] [--cfg S] [--split test|val]
        [--emd-points 512] [--copy-points 512] [--no-emd] [--json OUT]
    python -m polydit.bench.pointcloud.models --scale

A ``--run`` is a run folder (its newest checkpoint's EMA weights, or ``--step``); a ``--model``
a shipped name or a pretrained directory. ``--scale`` times training steps (batch 16, the
"small" DiT) per voxel resolution R, patch p and attention (window in alternate blocks vs
global), each in its own process, with its peak RSS. Prints markdown tables and the CPU.
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

from polydit.bench.dit_speed import cpu_flags, cpu_model
from polydit.core.atomic import atomic_write_text

#: the evaluation protocol's flags, passed on to ``evaluate_generator`` as they are named
PROTOCOL = ("label", "num", "seed", "emd", "emd_points", "copy_points", "split")

#: the issue's bar, per category on the test split
BAR = {"1-NNA-CD": ("≤", 0.65), "COV-CD": ("≥", 0.40), "copy_ratio": ("≥", 0.8)}
COLUMNS = (
    "1-NNA-CD",
    "1-NNA-EMD",
    "COV-CD",
    "COV-EMD",
    "MMD-CD",
    "MMD-EMD",
    "JSD",
    "copy_ratio",
)
#: (resolution, patch, window) per --scale row; window 0 = global attention in every block
SCALE = ((16, 4, 0), (16, 4, 2), (16, 2, 0), (16, 2, 4), (32, 4, 0), (32, 4, 4))


def cpu() -> str:
    import torch

    avx = sorted(f for f in cpu_flags() if f.startswith("avx512") or f == "amx_bf16")
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_model()} ({', '.join(avx) or 'no AVX-512'}), torch CPU capability {capability}"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from polydit.core.train import from_run, list_checkpoints
    from polydit.pointcloud.evaluate import evaluate_generator
    from polydit.pointcloud.pipeline import PointCloudGenerator

    if args.run:
        generator = from_run(PointCloudGenerator, args.run, args.step)
        step = args.step or max(dict(list_checkpoints(Path(args.run) / "checkpoints")))
        source = f"{args.run} (EMA, step {step})"
    else:
        generator = PointCloudGenerator.from_pretrained(args.model)
        source = args.model
    given = {"steps": args.steps, "cfg_scale": args.cfg}
    overrides = {k: v for k, v in given.items() if v is not None}
    started = time.perf_counter()
    protocol = {k: getattr(args, k) for k in PROTOCOL}
    metrics = evaluate_generator(generator, **protocol, **overrides)
    sampling = generator.sampling.override(**overrides)
    generated = sum(v for k, v in metrics.items() if k.endswith("/num_generated"))
    return {
        "source": source,
        "split": args.split,
        "classes": [args.label] if args.label else list(generator.codec.class_names),
        "sampler": sampling.sampler,
        "steps": sampling.steps,
        "cfg_scale": sampling.cfg_scale,
        "emd_points": args.emd_points if args.emd else None,
        "copy_points": args.copy_points,
        "parameters": sum(p.numel() for p in generator.model.parameters()),
        "shapes_per_s": generated / generator.sampling_seconds,
        "eval_seconds": time.perf_counter() - started,
        "metrics": metrics,
        "cpu": cpu(),
    }


def verdict(metrics: dict[str, float], name: str) -> str:
    failed = []
    for key, (sign, bound) in BAR.items():
        value = metrics[f"{name}/{key}"]
        ok = value <= bound if sign == "≤" else value >= bound
        if not ok:
            failed.append(f"{key} {value:.3f} not {sign} {bound}")
    return "met" if not failed else "not met: " + "; ".join(failed)


def quality_table(record: dict[str, Any]) -> str:
    m = record["metrics"]
    lines = [
        f"\n{record['source']} vs the {record['split']} split: {record['sampler']} "
        f"{record['steps']} steps, CFG {record['cfg_scale']}, {record['parameters']:,} "
        f"parameters; CD on all points, EMD (exact) on {record['emd_points']} points, copy "
        f"check on {record['copy_points']} points; {record['shapes_per_s']:.2f} shapes/s\n",
        "| class | #gen | #ref | " + " | ".join(COLUMNS) + " | bar |",
        "|---" * (len(COLUMNS) + 4) + "|",
    ]
    for name in record["classes"]:
        cells = []
        for key in COLUMNS:
            value = m.get(f"{name}/{key}")
            percent = key.startswith(("1-NNA", "COV"))
            cells.append(
                "–" if value is None else f"{100 * value:.1f} %" if percent else f"{value:.4g}"
            )
        lines.append(
            f"| {name} | {m[f'{name}/num_generated']:.0f} | {m[f'{name}/num_reference']:.0f} | "
            + " | ".join(cells)
            + f" | {verdict(m, name)} |"
        )
    lines.append(f"\nCPU: {record['cpu']}; evaluation took {record['eval_seconds']:.0f} s")
    return "\n".join(lines)


def one_config(resolution: int, patch: int, window: int, repeats: int = 5) -> dict[str, float]:
    """Seconds per training step (batch 16, DDPM ε, the "small" DiT without the point branch)
    and peak RSS of one config on random clouds of 2048 points."""
    import torch

    from polydit.core.train import TrainData
    from polydit.pointcloud.data import PointCloudSet
    from polydit.pointcloud.train import RECIPE, PointCloudSpec

    torch.manual_seed(0)
    clouds = PointCloudSet(
        torch.randn(16, 2048, 3),
        torch.zeros(16, dtype=torch.long),
        torch.zeros(16, 1, 3),
        torch.ones(16, 1, 1),
        ("shape",),
        tuple(f"shape/{i}" for i in range(16)),
        "random",
        "train",
    )
    spec = PointCloudSpec(resolution=resolution, patch=patch, window=window, point_features=0)
    data = TrainData(clouds, clouds.name)
    pipeline = RECIPE.build(spec, data.dataset, 0)
    loss_fn = RECIPE.loss(spec, pipeline)
    optimiser = torch.optim.AdamW(pipeline.model.parameters(), lr=1e-4)
    batch = clouds.batch(torch.arange(16))
    times = []
    for step in range(repeats + 1):
        started = time.perf_counter()
        loss = loss_fn(pipeline.model, batch, torch.Generator().manual_seed(step))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"s_per_step": min(times[1:]), "peak_rss_mb": rss}


def scale_table() -> str:
    lines = [
        "\ntraining step, batch 16, small DiT (192 wide, 6 blocks), fp32\n",
        "| R | p | tokens | attention | s/step | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for resolution, patch, window in SCALE:
        code = (
            "import json; from polydit.bench.pointcloud.models import one_config; "
            f"print(json.dumps(one_config({resolution}, {patch}, {window})))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        attention = f"window {window}³ in blocks 0, 2, 4" if window else "global"
        tokens = (resolution // patch) ** 3
        lines.append(
            f"| {resolution} | {patch} | {tokens} | {attention} | {r['s_per_step']:.2f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    lines.append(f"\nCPU: {cpu()}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a run folder (its newest checkpoint, EMA weights)")
    parser.add_argument("--step", type=int, help="with --run: this checkpoint step")
    parser.add_argument("--model", default="chair-small", help="shipped name or directory")
    parser.add_argument("--label", help="evaluate this class only (default: every class)")
    parser.add_argument("--num", type=int, help="clouds per class (default: its test split)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--cfg", type=float, help="guidance scale (default: the model's)")
    parser.add_argument("--split", default="test", choices=("test", "val"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--emd-points", type=int, default=512)
    parser.add_argument("--copy-points", type=int, default=512)
    parser.add_argument("--no-emd", dest="emd", action="store_false")
    parser.add_argument("--scale", action="store_true", help="training cost vs R, p, attention")
    parser.add_argument("--json", type=Path, help="also write the record here")
    args = parser.parse_args()
    if args.scale:
        print(scale_table())
        return
    record = measure(args)
    print(quality_table(record))
    if args.json:
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
