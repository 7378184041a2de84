"""Latency of one action chunk of the shipped `mt10-dit` (batch 1, as a controller calls it),
per lever: eager fp32 (the baseline), bf16 autocast, the FORA cache (interval 3, the cache that
kept MT10 success in BENCHMARKS.md), torch.compile, compile + bf16 and compile + FORA.

The levers are interleaved chunk by chunk (one chunk of each, round after round), so a change of
machine load hits them alike; p50 and p95 over `--chunks` chunks after 3 warm-up chunks each,
and each lever's p50 speed-up over the baseline. The compile (tens of seconds to minutes) is
timed apart. Prints the CPU's capability and bf16 flags first.

    uv run python -m polydit.bench.policy.latency [--chunks 200]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

#: lever → (uses the compiled copy, predict overrides)
LEVERS: dict[str, tuple[bool, dict[str, Any]]] = {
    "eager fp32": (False, {}),
    "eager bf16": (False, {"dtype": "bf16"}),
    "eager fp32 + fora 3": (False, {"cache": "fora", "cache_opts": {"interval": "3"}}),
    "compiled fp32": (True, {}),
    "compiled bf16": (True, {"dtype": "bf16"}),
    "compiled fp32 + fora 3": (True, {"cache": "fora", "cache_opts": {"interval": "3"}}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()
    from polydit.core.precision_choice import NATIVE_BF16_FLAGS, cpu_flags
    from polydit.policy import PolicyGenerator

    torch.set_num_threads(1)
    native = [f for f in NATIVE_BF16_FLAGS if f in cpu_flags()]
    print(
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16: {native or 'no'}"
    )
    eager = PolicyGenerator.from_pretrained("mt10-dit")
    compiled = PolicyGenerator.from_pretrained("mt10-dit")
    obs = np.zeros((1, eager.codec.n_obs, eager.codec.obs_dim), np.float32)
    started = time.perf_counter()
    if not compiled.compile():
        raise SystemExit("no C++ compiler: torch.compile cannot run here")
    compiled.predict(obs, "push-v3", seed=0)
    compiled.predict(obs, "push-v3", seed=0, dtype="bf16")
    compiled.predict(obs, "push-v3", seed=0, **LEVERS["compiled fp32 + fora 3"][1])
    print(f"compile + first calls: {time.perf_counter() - started:.0f} s")

    def chunk(lever: str, seed: int) -> float:
        use_compiled, overrides = LEVERS[lever]
        policy = compiled if use_compiled else eager
        begin = time.perf_counter()
        policy.predict(obs, "push-v3", seed=seed, **overrides)
        return 1000 * (time.perf_counter() - begin)

    for lever in LEVERS:
        for i in range(3):
            chunk(lever, i)
    ms: dict[str, list[float]] = {lever: [] for lever in LEVERS}
    for i in range(args.chunks):
        for lever in LEVERS:
            ms[lever].append(chunk(lever, i))
    base = float(np.percentile(ms["eager fp32"], 50))
    print(f"{'lever':<22} {'p50 ms':>8} {'p95 ms':>8} {'speed-up (p50)':>15}")
    for lever, values in ms.items():
        p50, p95 = np.percentile(values, [50, 95])
        print(f"{lever:<22} {p50:8.1f} {p95:8.1f} {base / p50:14.2f}x", flush=True)


if __name__ == "__main__":
    main()
