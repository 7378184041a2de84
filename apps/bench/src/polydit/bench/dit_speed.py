"""Speed of our core DiT vs diffusers' DiTTransformer2DModel at DiT-S/2 on 32×32×4 latents.

Both models hold the same weights (ours is ported from theirs, see :mod:`diffusers_port`) and are
timed in one process, interleaved: each repetition runs both, alternating which goes first,
after warm-up. Our timing includes patchify/unpatchify, so both take and return (B, C, H, W).

Modes: forward (eval, no_grad) and forward+backward (train mode, loss = mean square of the
output, parameter and input grads), each in fp32 and under ``torch.autocast("cpu", bfloat16)``.

Also measures this machine's matmul peak (fp32, bf16) and reports our training throughput
(analytic FLOPs of forward+backward per second) as a fraction of it.

Run: ``uv run --group bench python -m polydit.bench.dit_speed [--compile]`` (``--compile``: both
models through torch.compile, the compiled-vs-compiled pair).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from polydit.bench.diffusers_port import (
    DIT_S2,
    PortConfig,
    build_diffusers_dit,
    our_forward,
    ported_dit,
)

MODES = ("fwd-fp32", "fwd+bwd-fp32", "fwd-bf16", "fwd+bwd-bf16")


@dataclass
class Timing:
    """Wall-clock seconds of every timed repetition."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def spread(self) -> str:
        """min–max in ms."""
        return f"{1e3 * min(self.times):.0f}–{1e3 * max(self.times):.0f}"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to platform.processor())."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def cpu_flags() -> set[str]:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def forward_flops(cfg: PortConfig, batch: int) -> float:
    """Analytic multiply-add FLOPs (×2) of one DiT forward.

    Token-wise linears (patch embedding, QKV, attention output, MLP, output head) cost
    2·params·tokens; the conditioning (timestep MLP, label lookup, adaLN projections) runs once per
    sample, 2·params·batch; attention adds 2·2·B·N²·D per layer (QKᵀ and AV). Norms, activations
    and softmax are not counted. Counted once, as in original DiT (diffusers recomputes the
    timestep MLP per block; that extra work is not counted as useful).
    """
    d, n = cfg.hidden, cfg.grid**2
    tokens = batch * n
    in_dim, out_dim = cfg.patch_size**2 * cfg.in_channels, cfg.patch_size**2 * cfg.out_channels
    per_token = in_dim * d + cfg.depth * 12 * d * d + d * out_dim
    per_sample = 256 * d + d * d + cfg.depth * 6 * d * d + 2 * d * d
    attention = cfg.depth * 4 * batch * n * n * d
    return 2.0 * (per_token * tokens + per_sample * batch) + attention


class MatmulProbe:
    """FLOP/s of one ``F.linear`` (n, n) × (n, n) in ``dtype``: the machine's practical matmul peak."""

    def __init__(self, dtype: torch.dtype, n: int = 2048):
        gen = torch.Generator().manual_seed(0)
        self.a = torch.randn(n, n, generator=gen).to(dtype)
        self.w = torch.randn(n, n, generator=gen).to(dtype)
        self.flops = 2.0 * n**3
        F.linear(self.a, self.w)  # warm-up

    def __call__(self) -> float:
        start = time.perf_counter()
        F.linear(self.a, self.w)
        return self.flops / (time.perf_counter() - start)


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 5) -> float:
    """Best-of-reps FLOP/s of ``F.linear`` on (n, n) × (n, n) in ``dtype``."""
    probe = MatmulProbe(dtype, n)
    return max(probe() for _ in range(reps))


def _autocast(bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def make_step(
    run: Callable[[Tensor, Tensor, Tensor], Tensor],
    model: nn.Module,
    backward: bool,
    bf16: bool,
    inputs: tuple[Tensor, Tensor, Tensor],
) -> Callable[[], None]:
    """A closure running one timed step of ``run`` on ``inputs``."""
    latents, timesteps, labels = inputs

    def step() -> None:
        if backward:
            model.zero_grad(set_to_none=True)
            x = latents.clone().requires_grad_()
            with _autocast(bf16):
                out = run(x, timesteps, labels)
            out.float().square().mean().backward()
        else:
            with torch.no_grad(), _autocast(bf16):
                run(latents, timesteps, labels)

    return step


def interleaved(
    steps: dict[str, Callable[[], None]], reps: int, warmup: int, probe: Callable[[], float]
) -> tuple[dict[str, Timing], list[float]]:
    """Time each step ``reps`` times after ``warmup`` untimed runs, alternating the order.

    After every repetition ``probe()`` samples the matmul peak under the same background load.
    Returns the timings and the probe samples (FLOP/s).
    """
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    out = {name: Timing([]) for name in names}
    peaks = []
    for r in range(reps):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            steps[name]()
            out[name].times.append(time.perf_counter() - start)
        peaks.append(probe())
    return out, peaks


def run_benchmark(
    cfg: PortConfig = DIT_S2,
    batch: int = 8,
    reps: int = 10,
    warmup: int = 2,
    modes: tuple[str, ...] = MODES,
    seed: int = 0,
    compile: bool = False,
) -> tuple[dict[str, dict[str, Timing]], dict[str, list[float]]]:
    """({mode: {"ours": Timing, "diffusers": Timing}}, {mode: matmul-peak samples in FLOP/s}).

    compile: both models' forwards go through torch.compile (the fair pair for compiled
    sampling and training); the warm-up runs pay the compile."""
    theirs = build_diffusers_dit(cfg, seed)
    ours = ported_dit(theirs)
    gen = torch.Generator().manual_seed(seed + 1)
    latents = torch.randn(batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=gen)
    inputs = (
        latents,
        torch.randint(0, 1000, (batch,), generator=gen),
        torch.randint(0, cfg.num_classes, (batch,), generator=gen),
    )

    def run_ours(x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        return our_forward(ours, x, t, y)

    def run_theirs(x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        return theirs(x, timestep=t, class_labels=y).sample

    if compile:
        run_ours, run_theirs = torch.compile(run_ours), torch.compile(run_theirs)

    probes = {
        torch.float32: MatmulProbe(torch.float32),
        torch.bfloat16: MatmulProbe(torch.bfloat16),
    }
    results, peaks = {}, {}
    for name in modes:
        backward, bf16 = "bwd" in name, name.endswith("bf16")
        for m in (ours, theirs):
            m.train(backward)
        steps = {
            "ours": make_step(run_ours, ours, backward, bf16, inputs),
            "diffusers": make_step(run_theirs, theirs, backward, bf16, inputs),
        }
        probe = probes[torch.bfloat16 if bf16 else torch.float32]
        results[name], peaks[name] = interleaved(steps, reps, warmup, probe)
        r = results[name]
        print(
            f"  {name}: ours {1e3 * r['ours'].median:.0f} ms, diffusers {1e3 * r['diffusers'].median:.0f} ms",
            flush=True,
        )
    return results, peaks


def markdown(results: dict[str, dict[str, Timing]]) -> str:
    """The results as a markdown table (medians, min–max spread, ratio diffusers/ours)."""
    lines = [
        "| mode | ours ms (median) | ours min–max | diffusers ms (median) | diffusers min–max | diffusers/ours |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        o, t = r["ours"], r["diffusers"]
        lines.append(
            f"| {name} | {1e3 * o.median:.0f} | {o.spread()} | {1e3 * t.median:.0f} | {t.spread()} "
            f"| {t.median / o.median:.2f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Core DiT vs diffusers DiT-S/2 speed (CPU).")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--reps", type=int, default=10, help="timed repetitions per model and mode (≥ 10)"
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--json", help="also write raw timings to this JSON file")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile both models (compiled vs compiled)"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    flags = cpu_flags()
    isa = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
    bf16_hw = "amx_bf16" in flags or "avx512_bf16" in flags
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, torch.get_num_threads()="
        f"{torch.get_num_threads()} ({isa}, native bf16 matmul: {bf16_hw}); torch {torch.__version__}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    best = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}

    results, peaks = run_benchmark(
        DIT_S2, args.batch, args.reps, args.warmup, tuple(args.modes), compile=args.compile
    )
    for name, samples in peaks.items():
        kind = name.rsplit("-", 1)[1]
        best[kind] = max(best[kind], *samples)
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"matmul peak (F.linear 2048², best sample): fp32 {best['fp32'] / 1e9:.1f} GFLOP/s, "
        f"bf16 {best['bf16'] / 1e9:.1f} GFLOP/s"
    )
    print()
    print(markdown(results))

    fwd = forward_flops(DIT_S2, args.batch)
    print(
        f"\nanalytic FLOPs (batch {args.batch}): forward {fwd / 1e9:.1f} GFLOP, "
        f"forward+backward {3 * fwd / 1e9:.1f} GFLOP"
    )
    print()
    print(
        "| mode | model | GFLOP/s (median time) | peak during mode (median probe) | fraction | "
        "fraction of best peak | fraction of best fp32 peak |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    summary: dict[str, dict[str, float]] = {}
    for name, r in results.items():
        kind = name.rsplit("-", 1)[1]
        flops = fwd * (3 if "bwd" in name else 1)
        during = statistics.median(peaks[name])
        for who in ("ours", "diffusers"):
            rate = flops / r[who].median
            summary[f"{name}/{who}"] = {"flops_per_s": rate, "peak_during": during}
            print(
                f"| {name} | {who} | {rate / 1e9:.1f} | {during / 1e9:.1f} | {rate / during:.0%} "
                f"| {rate / best[kind]:.0%} | {rate / best['fp32']:.0%} |"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "cpu": cpu_model(),
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "best_peak": best,
                    "peak_samples": peaks,
                    "forward_flops": fwd,
                    "timings": {
                        k: {w: asdict(t) for w, t in v.items()} for k, v in results.items()
                    },
                    "throughput": summary,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
