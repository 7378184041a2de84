"""Sample calibration on the fixed test clips: why sampled predictions trail the 1-step estimate.

With x the true frames, μ the model's posterior mean (its 1-step x0 estimate from pure noise)
and s a sample, MSE(s, x) = MSE(μ, x) + E|s − μ|². If the samples are calibrated draws (their
spread around μ equals μ's error), then:

- two independent samples differ as much as a sample differs from the truth (spread ≈ sample);
- one sample has twice the MSE of μ: sampled PSNR ≈ 1-step PSNR − 3.0 dB;
- the average of K samples has (1 + 1/K)× the MSE of μ (−1.8 dB at K = 2, −1.0 dB at K = 4).

So with calibrated samples, a sampled margin of +2 dB over a baseline needs μ at about +5 dB.

Run: ``OMP_NUM_THREADS=1 python -m polydit.bench.video.calibration --model moving-digits --clips 32``
(prints one JSON object per task; PSNR in dB, per frame, averaged over scored frames and clips).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from typing import Any

import torch
from torch import Tensor

from polydit.video import load_pretrained
from polydit.video.data import eval_set
from polydit.video.metrics import interpolation_baselines, prediction_baselines, psnr, stack_clips
from polydit.video.pipeline import VideoGenerator

DRAW_SEED_STRIDE = 100_000  # draw k of clip i uses noise seed base + k·stride + i


def calibration(
    generator: VideoGenerator,
    videos: Tensor,
    task: str,
    *,
    draws: int = 4,
    given: int = 4,
    seed: int = 0,
    **overrides: Any,
) -> dict[str, float]:
    """PSNRs (dB) for `task` ("predict" or "interpolate") on clips (B, T, 1, H, W): one sample,
    sample vs sample (spread), the mean of `draws` samples, the 1-step estimate, the best
    trivial baseline, and what calibration predicts for one sample from the 1-step PSNR."""
    if draws < 2:
        raise ValueError(f"draws must be >= 2, got {draws}")
    t = videos.shape[1]
    if task == "predict":
        scored = slice(given, t)
        run = lambda s, **o: generator.predict(videos, given, seed=s, **o).clips  # noqa: E731
        baselines = prediction_baselines(videos, given)
    elif task == "interpolate":
        scored = slice(1, t - 1)
        run = lambda s, **o: generator.interpolate(videos[:, 0], videos[:, -1], seed=s, **o).clips  # noqa: E731
        baselines = interpolation_baselines(videos)
    else:
        raise ValueError(f"task must be 'predict' or 'interpolate', got {task!r}")

    def db(a: Tensor, b: Tensor) -> float:
        return float(psnr(a[:, scored], b[:, scored]).mean())

    samples = [run(seed + k * DRAW_SEED_STRIDE, **overrides) for k in range(draws)]
    one_step = run(seed, **{**overrides, "steps": 1})
    pairs = list(itertools.pairwise(samples))
    return {
        "sample": sum(db(s, videos) for s in samples) / draws,
        "spread": sum(db(a, b) for a, b in pairs) / len(pairs),
        "mean_of_2": db(torch.stack(samples[:2]).mean(0), videos),
        f"mean_of_{draws}": db(torch.stack(samples).mean(0), videos),
        "one_step": db(one_step, videos),
        "best_baseline": max(db(b, videos) for b in baselines.values()),
        "calibrated_sample_prediction": db(one_step, videos) - 10 * math.log10(2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="moving-digits", help="shipped name or directory")
    parser.add_argument("--clips", type=int, default=32, help="first N fixed test clips")
    parser.add_argument("--draws", type=int, default=4, help="samples per clip (>= 2)")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--given-scale",
        type=float,
        default=1.0,
        help="given-frame guidance (1: none, the posterior)",
    )
    args = parser.parse_args(argv)
    generator = load_pretrained(args.model)
    videos, _ = stack_clips(eval_set(generator.codec.data, args.clips))
    overrides = {"given_scale": args.given_scale}
    if args.steps is not None:
        overrides["steps"] = args.steps
    for task in ("predict", "interpolate"):
        result = calibration(generator, videos, task, draws=args.draws, seed=args.seed, **overrides)
        print(json.dumps({"task": task, "model": str(args.model), "clips": args.clips, **result}))


if __name__ == "__main__":
    main()
