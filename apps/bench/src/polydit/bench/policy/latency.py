"""Latency of one action chunk of the shipped `mt10-dit` (batch 1), eager vs torch.compile.

uv run python -m polydit.bench.policy.latency [--reps 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    from polydit.policy import PolicyGenerator

    torch.set_num_threads(1)
    policy = PolicyGenerator.from_pretrained("mt10-dit")
    obs = np.zeros((1, policy.codec.n_obs, policy.codec.obs_dim), np.float32)

    def bench(label: str) -> None:
        for _ in range(3):
            policy.predict(obs, "push-v3", seed=0)
        seconds = []
        for i in range(args.reps):
            started = time.perf_counter()
            policy.predict(obs, "push-v3", seed=i)
            seconds.append(time.perf_counter() - started)
        median, best = 1000 * statistics.median(seconds), 1000 * min(seconds)
        print(f"{label}: median {median:.1f} ms, fastest {best:.1f} ms per chunk", flush=True)

    bench("eager")
    started = time.perf_counter()
    if not policy.compile():
        raise SystemExit("no C++ compiler: torch.compile cannot run here")
    policy.predict(obs, "push-v3", seed=0)
    print(f"compile + first call: {time.perf_counter() - started:.0f} s")
    bench("compiled")


if __name__ == "__main__":
    main()
