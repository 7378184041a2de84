"""The digits experiments behind the polydit-image README numbers (not tests):
``python -m polydit.bench.image.digits <command>``.

* ``sweep RUN --cfg 1 1.5 2 --steps 16 32 --sampler heun``: metrics of the newest checkpoint's EMA
  weights of a training run folder for each setting.
* ``ship RUN DEST --cfg S --steps N --sampler NAME``: export the run's EMA model with those sampling
  defaults to DEST, evaluated with the ``eval`` protocol, metrics.json included.
* ``baseline``: the per-class-mean-plus-noise baseline and the real-vs-real floor.
* ``bf16 MODEL``: FD between fp32 and bf16 samples of the same seeds.
* ``grid MODEL --size 16``: larger-grid sampling (RoPE extrapolation / position interpolation),
  scored after 2×2 average-pooling back to 8×8.

RUN is a run folder of ``polydit-image train``; MODEL a shipped model name (``digits``) or a
pretrained directory.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from polydit.core.metrics import frechet_distance_from_features
from polydit.core.train import from_run, list_checkpoints
from polydit.image import load_pretrained
from polydit.image.metrics import (
    EVAL_NUM,
    baseline_metrics,
    classify,
    evaluate_digits,
    quantize,
    sample_metrics,
)
from polydit.image.pipeline import ImageGenerator


def load_run(run: Path) -> tuple[ImageGenerator, int]:
    """The EMA generator of the newest checkpoint of training run folder `run`; its step."""
    generator = from_run(ImageGenerator, run)
    return generator, list_checkpoints(run / "checkpoints")[-1][0]


def sweep(args: argparse.Namespace) -> None:
    generator, step = load_run(Path(args.run))
    for sampler in args.sampler:
        for steps in args.steps:
            for cfg in args.cfg:
                m = evaluate_digits(
                    generator, args.num, seed=args.seed, steps=steps, sampler=sampler, cfg_scale=cfg
                )
                print(json.dumps({"checkpoint_step": step, "sampler": sampler, **m}), flush=True)


def ship(args: argparse.Namespace) -> None:
    generator, step = load_run(Path(args.run))
    generator.sampling = generator.sampling.override(
        steps=args.steps, sampler=args.sampler, cfg_scale=args.cfg
    )
    if args.eval_json:  # a `sweep` line with exactly these settings (sampling is deterministic)
        metrics = json.loads(Path(args.eval_json).read_text().splitlines()[-1])
        metrics = {k: v for k, v in metrics.items() if k not in ("checkpoint_step", "sampler")}
    else:
        metrics = evaluate_digits(generator, EVAL_NUM, seed=0)
    train_log = [json.loads(line) for line in (Path(args.run) / "metrics.jsonl").open()]
    info: dict[str, Any] = {
        "protocol": f"polydit-image eval --json ({EVAL_NUM} samples, seed 0, model defaults)",
        "eval": metrics,
        "training": {
            "checkpoint_step": step,
            "wall_seconds_last_segment": train_log[-1].get("elapsed_s"),
            "command": args.command,
        },
        "sampling": generator.sampling.to_dict(),
    }
    generator.save_pretrained(args.dest, metrics=info)
    print(json.dumps(info, indent=2))


def baseline(args: argparse.Namespace) -> None:
    for noise in (0.1, 0.2, 0.3, 0.5):
        print(json.dumps({"baseline_noise": noise, **baseline_metrics(EVAL_NUM, 0, noise)}))


def bf16(args: argparse.Namespace) -> None:
    generator = load_pretrained(args.model)
    labels = torch.arange(args.num) % 10
    feats = {}
    for dtype in ("fp32", "bf16"):
        started = time.perf_counter()
        images = generator.sample(args.num, labels, seed=0, dtype=dtype).images
        feats[dtype] = classify(quantize(images))[1].double()
        print(f"{dtype}: {time.perf_counter() - started:.1f}s")
    print(
        json.dumps(
            {"fd_fp32_vs_bf16": frechet_distance_from_features(feats["fp32"], feats["bf16"])}
        )
    )


def larger_grid(args: argparse.Namespace) -> None:
    generator = load_pretrained(args.model)
    labels = torch.arange(args.num) % 10
    factor = args.size // generator.codec.height
    for mode in ("extrapolate", "interpolate"):
        big = generator.sample(
            args.num, labels, seed=0, height=args.size, width=args.size, positions=mode
        ).images
        small = torch.nn.functional.avg_pool2d(big, factor)
        print(json.dumps({"size": args.size, "positions": mode, **sample_metrics(small, labels)}))


def main() -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="python -m polydit.bench.image.digits")
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("sweep")
    p.add_argument("run")
    p.add_argument("--cfg", type=float, nargs="+", default=[1.5])
    p.add_argument("--steps", type=int, nargs="+", default=[32])
    p.add_argument("--sampler", nargs="+", default=["heun"])
    p.add_argument("--num", type=int, default=EVAL_NUM)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=sweep)
    p = sub.add_parser("ship")
    p.add_argument("run")
    p.add_argument("dest")
    p.add_argument("--cfg", type=float, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--sampler", required=True)
    p.add_argument("--command", required=True, help="The reproduce command to record.")
    p.add_argument("--eval-json", help="Reuse this sweep output instead of evaluating again.")
    p.set_defaults(fn=ship)
    p = sub.add_parser("baseline")
    p.set_defaults(fn=baseline)
    p = sub.add_parser("bf16")
    p.add_argument("model")
    p.add_argument("--num", type=int, default=500)
    p.set_defaults(fn=bf16)
    p = sub.add_parser("grid")
    p.add_argument("model")
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--num", type=int, default=500)
    p.set_defaults(fn=larger_grid)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
