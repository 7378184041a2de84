"""The cost of batch-invariant sampling: `Pipeline.generate` in chunks of `sample_rows` (16, the
last padded) vs one run over the whole batch, on the shipped image model.

Interleaved (the order alternates each repetition); prints the best and the median ratio.

    uv run python -m polydit.bench.sample_chunks --num 64 --reps 8
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from polydit.core.pipeline import Pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--reps", type=int, default=8)
    args = parser.parse_args()
    from polydit.image.cli import DOMAIN
    from polydit.image.pipeline import ImageGenerator

    generator = ImageGenerator.from_pretrained(DOMAIN.pretrained_root / DOMAIN.default_model)
    default = Pipeline.sample_rows
    seconds: dict[int | None, list[float]] = {default: [], None: []}
    for rep in range(args.reps):
        for rows in (default, None) if rep % 2 else (None, default):
            Pipeline.sample_rows = rows
            started = time.perf_counter()
            generator.sample(args.num, seed=0)
            seconds[rows].append(time.perf_counter() - started)
    Pipeline.sample_rows = default
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {args.num} digits samples")
    for rows, values in seconds.items():
        print(f"rows={rows}: best {min(values):.2f} s, median {statistics.median(values):.2f} s")
    best = min(seconds[default]) / min(seconds[None])
    median = statistics.median(seconds[default]) / statistics.median(seconds[None])
    print(f"chunked / whole: best {best:.2f}×, median {median:.2f}×")


if __name__ == "__main__":
    main()
