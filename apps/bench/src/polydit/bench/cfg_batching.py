"""Classifier-free guidance as one call of twice the batch vs two calls, by batch size.

One guided evaluation of a DiT (random weights, class labels, 2-D RoPE), timed interleaved
(sequential, batched, sequential, ...) and reported as the best of the repetitions. The
crossover sets :data:`polydit.core.pipeline.BATCHED_CFG_MAX_CPU_TOKENS`.

    uv run python -m polydit.bench.cfg_batching --hidden 128 --depth 4 --grid 8
"""

from __future__ import annotations

import argparse
import time

import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.sampling import ClassifierFreeGuidance, ModelDenoiser
from polydit.core.sampling.context import StepContext
from polydit.core.tokens import Cond


@torch.no_grad()
def guided_seconds(model: DiT, batch: int, grid: int, batched: bool, reps: int) -> float:
    """Mean seconds of one guided evaluation at `batch` samples of grid×grid tokens."""
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    pos = torch.stack([rows, cols], -1).reshape(1, -1, 2).float().expand(batch, -1, -1)
    x = torch.randn(batch, grid * grid, model.config.in_dim)
    t = torch.full((batch,), 0.5)
    cond = Cond(labels=torch.arange(batch) % model.config.num_classes)
    guide = ClassifierFreeGuidance(ModelDenoiser(model, pos), 1.5, batched=batched)
    ctx = StepContext(0, 10, 0.5, 0.4)
    started = time.perf_counter()
    for _ in range(reps):
        guide(x, t, cond, ctx)
    return (time.perf_counter() - started) / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--grid", type=int, default=8, help="Tokens per sample: grid².")
    parser.add_argument("--batches", default="1,4,16,32,64,128,256")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = DiTConfig(
        in_dim=4,
        hidden=args.hidden,
        depth=args.depth,
        heads=args.heads,
        num_classes=10,
        pos_axes=2,
        qk_norm=True,
    )
    model = DiT(config).eval()
    print(f"DiT width {args.hidden}, depth {args.depth}, {args.grid ** 2} tokens, fp32, "
          f"{torch.get_num_threads()} thread(s)")  # fmt: skip
    print("| batch | two calls (ms) | one batched call (ms) | two / batched |")
    print("|---|---|---|---|")
    for batch in (int(b) for b in args.batches.split(",")):
        reps = max(2, 128 // batch)
        best = {False: float("inf"), True: float("inf")}
        for _ in range(args.rounds):
            for batched in (False, True):
                seconds = guided_seconds(model, batch, args.grid, batched, reps)
                best[batched] = min(best[batched], seconds)
        ratio = best[False] / best[True]
        print(f"| {batch} | {1e3 * best[False]:.1f} | {1e3 * best[True]:.1f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
