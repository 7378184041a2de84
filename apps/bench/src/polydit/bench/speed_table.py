"""One sampling-speed table for every installed domain: samples per second of each shipped
default model through its own `sample` verb (files written, as a user gets them), fp32 against
bf16 autocast, interleaved (the order alternates each repetition) so load drifts hit both.

    uv run python -m polydit.bench.speed_table --reps 3 [--domains image,graph]

Prints the CPU's features beside the table; compare the bf16/fp32 ratio, not the absolutes,
when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import torch
from typer.testing import CliRunner

#: samples per timed run and extra flags per domain (a policy sample is one closed-loop episode)
WORK: dict[str, tuple[int, tuple[str, ...]]] = {
    "image": (64, ()),
    "video": (8, ()),
    "audio": (8, ()),
    "graph": (8, ()),
    "molecule": (32, ()),
    "pointcloud": (8, ()),
    "policy": (2, ("--max-steps", "100")),
}


def cpu_features() -> str:
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{', '.join(shown) or 'no AVX flags read'}; torch CPU capability {torch.backends.cpu.get_cpu_capability()}"


def timed_sample(app: object, num: int, flags: tuple[str, ...], dtype: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["sample", "--num", str(num), "--seed", "0", "--dtype", dtype, "--quiet"]
        started = time.perf_counter()
        result = CliRunner().invoke(app, [*args, *flags, "--out", str(Path(tmp) / "out")])
        seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(f"sample --dtype {dtype} failed: {result.output[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--domains", default=None, help="comma list (default: all installed)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    points = {p.name: p for p in entry_points(group="polydit.domains")}
    names = args.domains.split(",") if args.domains else sorted(points)
    print(f"CPU: {cpu_features()}; 1 thread\n")
    print(
        "| domain | model | samples per run | fp32 samples/s | bf16 samples/s | bf16 / fp32 speed |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        domain = points[name].load()
        app = importlib.import_module(points[name].value.partition(":")[0]).app
        num, flags = WORK.get(name, (8, ()))
        timed_sample(app, num, flags, "fp32")  # warm-up: imports, caches, first-call costs
        seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for rep in range(args.reps):
            for dtype in ("fp32", "bf16") if rep % 2 == 0 else ("bf16", "fp32"):
                seconds[dtype].append(timed_sample(app, num, flags, dtype))
        fp32, bf16 = (statistics.median(seconds[d]) for d in ("fp32", "bf16"))
        print(
            f"| {name} | {domain.default_model} | {num} | {num / fp32:.2f} | {num / bf16:.2f} "
            f"| {fp32 / bf16:.2f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
