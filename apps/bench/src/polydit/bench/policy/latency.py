"""Latency of one action chunk of the shipped `mt10-dit` (batch 1, as a controller calls it),
per lever: eager fp32 at the 10 Euler steps the model was trained and first shipped with (the
baseline), bf16 autocast, fewer steps, the FORA cache (interval 3, the cache that kept MT10
success in BENCHMARKS.md), torch.compile (uncached: the sampler's whole step loop in one graph;
cached: the pieces the cache calls), and their combinations.

The levers are interleaved chunk by chunk (one chunk of each, round after round), so a change of
machine load hits them alike; p50 and p95 over `--chunks` chunks after 3 warm-up chunks each,
and each lever's p50 speed-up over the baseline. The compile (tens of seconds to minutes per
step count) is timed apart. Prints the CPU's capability and bf16 flags first.

    uv run python -m polydit.bench.policy.latency [--chunks 200] [--steps 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

FORA = {"cache": "fora", "cache_opts": {"interval": "3"}}


def levers(steps: int) -> dict[str, tuple[bool, dict[str, Any]]]:
    """lever → (uses the compiled copy, predict overrides); `steps` is the fewer-steps lever."""
    few = {"steps": steps}
    return {
        "eager fp32, 10 steps": (False, {"steps": 10}),
        "eager bf16, 10 steps": (False, {"steps": 10, "dtype": "bf16"}),
        "eager fp32 + fora 3": (False, {"steps": 10, **FORA}),
        f"eager fp32, {steps} steps": (False, few),
        "compiled fp32, 10 steps": (True, {"steps": 10}),
        "compiled fp32 + fora 3": (True, {"steps": 10, **FORA}),
        f"compiled fp32, {steps} steps": (True, few),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--steps", type=int, default=3, help="The fewer-steps lever.")
    args = parser.parse_args()
    from polydit.core.precision_choice import NATIVE_BF16_FLAGS, cpu_flags
    from polydit.policy import PolicyGenerator

    torch.set_num_threads(1)
    native = [f for f in NATIVE_BF16_FLAGS if f in cpu_flags()]
    print(
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16: {native or 'no'}"
    )
    table = levers(args.steps)
    eager = PolicyGenerator.from_pretrained("mt10-dit")
    compiled = PolicyGenerator.from_pretrained("mt10-dit")
    obs = np.zeros((1, eager.codec.n_obs, eager.codec.obs_dim), np.float32)
    if not compiled.compile():
        raise SystemExit("no C++ compiler: torch.compile cannot run here")
    for lever, (use_compiled, overrides) in table.items():
        if use_compiled:
            started = time.perf_counter()
            compiled.predict(obs, "push-v3", seed=0, **overrides)
            print(f"compile + first call, {lever}: {time.perf_counter() - started:.0f} s")

    def chunk(lever: str, seed: int) -> float:
        use_compiled, overrides = table[lever]
        policy = compiled if use_compiled else eager
        begin = time.perf_counter()
        policy.predict(obs, "push-v3", seed=seed, **overrides)
        return 1000 * (time.perf_counter() - begin)

    for lever in table:
        for i in range(3):
            chunk(lever, i)
    ms: dict[str, list[float]] = {lever: [] for lever in table}
    for i in range(args.chunks):
        for lever in table:
            ms[lever].append(chunk(lever, i))
    base = float(np.percentile(ms[next(iter(table))], 50))
    print(f"{'lever':<28} {'p50 ms':>8} {'p95 ms':>8} {'speed-up (p50)':>15}")
    for lever, values in ms.items():
        p50, p95 = np.percentile(values, [50, 95])
        print(f"{lever:<28} {p50:8.1f} {p95:8.1f} {base / p50:14.2f}x", flush=True)


if __name__ == "__main__":
    main()
