"""One sampling-speed table for every domain: fp32, bf16, compiled and the best cache, each with
the domain's quality metric beside it.

For each domain this runs the shipped default model's own ``eval --json`` once per lever (a
fresh process each, :func:`polydit.bench.cache_speed.run_eval`), at the model's default sampler
and steps, and reports

* the steady sampling rate: samples per second of ``Pipeline.generate`` with its first chunk
  left out, since under ``--compile`` that chunk pays the one-time compile (reported apart); a
  policy's rate is action chunks per second (1000 / its median ms per chunk) and audio's is also
  given as a real-time factor (seconds of audio per second);
* the speed-up over the fp32 row, and every metric the domain's table names, next to fp32's.

Levers: ``fp32`` and ``bf16`` (``--dtype``; bf16 is skipped where the CPU has no native bf16,
where it is far slower), ``compiled`` (``--compile --dtype auto``: the precision ``auto`` picks),
``cache`` (the domain's best training-free cache of BENCHMARKS.md, ``--dtype auto``) and
``compiled + cache``. Graph and point-cloud models take no cache. The fp32 row runs first and
again last; its faster run is the baseline, so one burst of load does not inflate every ratio.

    uv run python -m polydit.bench.sample_speed [--domains image,policy] [--levers fp32,compiled]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from polydit.bench.cache_speed import DOMAINS, DomainBench, cache_flags, metric_cells, run_eval
from polydit.core.atomic import atomic_write_text
from polydit.core.precision_choice import NATIVE_BF16_FLAGS, cpu_flags

#: every domain: the cached domains of cache_speed and the three that take no cache
BENCHES: dict[str, DomainBench] = {
    **DOMAINS,
    "audio": DomainBench(
        "polydit-audio",
        ("--num", "100"),
        (("accuracy", "accuracy %", 100.0), ("fd_ratio", "FD / floor", 1.0)),
        "shipped `digits-mel-tiny`, its defaults, 100 clips",
    ),
    "graph": DomainBench(
        "polydit-graph",
        (),
        (("vun", "V.U.N. %", 100.0), ("degree_emd_ratio", "degree ratio", 1.0)),
        "shipped `community-small`, its defaults, the evaluation protocol's graphs",
    ),
    "pointcloud": DomainBench(
        "polydit-pointcloud",
        ("--num", "64", "--no-emd"),
        (("1nna_cd", "1-NNA-CD %", 100.0), ("cov_cd", "COV-CD %", 100.0)),
        "shipped `chair-small`, its defaults, 64 shapes (Chamfer metrics only)",
    ),
}

#: the best cache per domain at kept quality (BENCHMARKS.md "Training-free caches"); audio's is
#: FORA 2, not yet ranked there
BEST_CACHE: dict[str, tuple[str, tuple[str, ...]]] = {
    "image": ("taylorseer", ("order=1", "interval=3", "warmup=2")),
    "video": ("fora", ("interval=3",)),
    "molecule": ("fora", ("interval=2",)),
    "policy": ("fora", ("interval=3",)),
    "audio": ("fora", ("interval=2",)),
}

LEVERS = ("fp32", "bf16", "compiled", "cache", "compiled + cache")


@dataclass(frozen=True)
class Lever:
    name: str
    flags: list[str]


def levers(domain: str, wanted: set[str], native_bf16: bool) -> list[Lever]:
    """The runs of one domain, fp32 first."""
    cache = BEST_CACHE.get(domain)
    flags = {
        "fp32": ["--dtype", "fp32"],
        "bf16": ["--dtype", "bf16"] if native_bf16 else None,
        "compiled": ["--compile", "--dtype", "auto"],
        "cache": None if cache is None else [*cache_flags(*cache), "--dtype", "auto"],
        "compiled + cache": None
        if cache is None
        else ["--compile", *cache_flags(*cache), "--dtype", "auto"],
    }
    return [Lever(n, f) for n, f in flags.items() if f is not None and (n == "fp32" or n in wanted)]


def steady_rate(domain: str, metrics: dict) -> float:
    """Rows of ``Pipeline.generate`` per second with its first chunk left out where there are
    more; a policy's action chunks per second from its median chunk latency."""
    if domain == "policy":
        return 1000.0 / metrics["latency_ms_per_chunk"]  # a median: the compile is an outlier
    rows, seconds = metrics["sampled_rows"], metrics["sampling_seconds"]
    first_rows, first_seconds = metrics["first_chunk_rows"], metrics["first_chunk_seconds"]
    if rows > first_rows:
        return (rows - first_rows) / (seconds - first_seconds)
    return rows / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", default=",".join(sorted(BENCHES)))
    parser.add_argument("--levers", default=",".join(LEVERS[1:]), help="Beside fp32, comma list.")
    parser.add_argument("--out", type=Path, help="Write results.jsonl and tables.md here.")
    args = parser.parse_args(argv)
    native = [f for f in NATIVE_BF16_FLAGS if f in cpu_flags()]
    wanted = {v.strip() for v in args.levers.split(",") if v.strip()}
    if unknown := wanted - set(LEVERS):
        raise SystemExit(f"error: --levers: unknown {sorted(unknown)}; known: {', '.join(LEVERS)}")
    print(
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16: "
        f"{', '.join(native) or 'no'}\n",
        flush=True,
    )
    records, tables = [], []
    for domain in (d.strip() for d in args.domains.split(",")):
        if domain not in BENCHES:
            raise SystemExit(f"error: --domains: unknown {domain!r}; known: {', '.join(BENCHES)}")
        bench, runs = BENCHES[domain], levers(domain, wanted, bool(native))
        rows = []
        for lever in [*runs, runs[0]]:
            metrics = run_eval(bench, lever.flags, [])
            rows.append({"domain": domain, "lever": lever.name, "metrics": metrics})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        last = rows.pop()
        if steady_rate(domain, last["metrics"]) > steady_rate(domain, rows[0]["metrics"]):
            rows[0] = last
        records += rows
        tables.append(markdown(domain, bench, rows))
        print(tables[-1] + "\n", flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            args.out / "results.jsonl", "".join(json.dumps(r) + "\n" for r in records)
        )
        atomic_write_text(args.out / "tables.md", "\n\n".join(tables) + "\n")


def markdown(domain: str, bench: DomainBench, rows: list[dict]) -> str:
    """One domain's table: a row per lever, rate and metrics against the fp32 row."""
    base = rows[0]["metrics"]
    unit = "chunks/s" if domain == "policy" else "samples/s"
    head = ["lever", "dtype", unit, "speed-up", "first chunk s", *(t for _, t, _ in bench.metrics)]
    if domain == "audio":
        head.insert(3, "real-time factor")
    lines = [f"**{domain}** — {bench.note}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for row in rows:
        m = row["metrics"]
        rate = steady_rate(domain, m)
        compiled = "compiled" in row["lever"] and "first_chunk_seconds" in m
        cells = [
            row["lever"],
            str(m.get("dtype", "–")),
            f"{rate:.2f}",
            f"{rate / steady_rate(domain, base):.2f}×",
            f"{m['first_chunk_seconds']:.0f}" if compiled else "–",
        ]
        if domain == "audio":
            cells.insert(3, f"{rate * m['clip_seconds']:.2f}")
        cells += metric_cells(bench, m, None if row is rows[0] else base)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
