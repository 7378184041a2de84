"""Training-free caches in every domain: wall-clock speedup, compute saved and the domain metric.

For each domain this runs the domain's own ``eval --json`` once without a cache and once per
cache configuration, at the same sampler and step count, and reports per configuration

* ``speedup``: uncached / cached ``sampling_seconds`` (wall time inside ``Pipeline.generate``,
  the part a cache accelerates) and the same ratio for ``eval_seconds`` (the whole evaluation,
  which adds the domain's metric code — and for policies the simulator — identical in every run);
* ``compute saved``: 1 − ``cache_block_fraction`` (DiT block evaluations skipped);
* every metric the domain reports that the table names, next to its uncached value.

A speedup counts only next to its quality: the caches are compared at equal steps, and a
metric change is printed in the metric's own unit (percentage points for rates).

E-DiT routers (``--cache elastic``) need a router file from ``polydit-<domain> train-router``;
``--elastic 'LABEL:routers=PATH,threshold=0.6'`` adds such a row (repeat the flag for more).

Each run is a separate process (``polydit-<domain> eval ...``), so a run's timing is not
affected by another run's memory or threads. Set ``OMP_NUM_THREADS`` to pin the thread count.

    uv run python -m polydit.bench.cache_speed --domains image --out runs/cache_speed
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from polydit.core.atomic import atomic_write_text

#: (name, --cache, --cache-opts) of every configuration measured; "none" comes first.
CACHES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("none", "none", ()),
    ("fora n=2", "fora", ("interval=2",)),
    ("fora n=3", "fora", ("interval=3",)),
    ("delta n=3", "delta", ("interval=3",)),
    ("taylorseer o=1 n=3", "taylorseer", ("order=1", "interval=3", "warmup=2")),
    ("taylorseer o=2 n=4", "taylorseer", ("order=2", "interval=4", "warmup=3")),
    ("firstblock 0.05", "firstblock", ("threshold=0.05",)),
    ("firstblock 0.15", "firstblock", ("threshold=0.15",)),
    ("ras r=0.25 n=4", "ras", ("ratio=0.25", "interval=4")),
)


@dataclass(frozen=True)
class DomainBench:
    """How to evaluate one domain: its CLI, the eval flags and the metrics to tabulate.

    metrics: (key in the eval JSON, column title, scale) — scale 100 prints rates as percent.
    """

    script: str
    args: tuple[str, ...]
    metrics: tuple[tuple[str, str, float], ...]
    note: str = ""


DOMAINS: dict[str, DomainBench] = {
    "image": DomainBench(
        "polydit-image",
        ("--num", "1000"),
        (("accuracy", "accuracy %", 100.0), ("fd_ratio", "FD / floor", 1.0)),
        "shipped `digits`, its defaults (heun 12 steps = 23 evaluations, CFG 1.15), 1,000 samples",
    ),
    "video": DomainBench(
        "polydit-video",
        ("--unconditional", "0"),
        (
            ("predict.psnr", "prediction PSNR dB", 1.0),
            ("interpolate.psnr", "interpolation PSNR dB", 1.0),
        ),
        "shipped `moving-digits`, its default sampler, the fixed test set",
    ),
    "molecule": DomainBench(
        "polydit-molecule",
        ("--num", "500"),
        (("atom_stability", "atom stable %", 100.0), ("validity", "valid %", 100.0)),
        "shipped `qm9`, its default sampler (DDPM 100 steps), 500 molecules",
    ),
    "policy": DomainBench(
        "polydit-policy",
        (
            "--task",
            "peg-insert-side-v3,pick-place-v3,reach-v3",
            "--episodes",
            "20",
            "--seed",
            "1000",
        ),
        (("success_rate", "success %", 100.0), ("latency_ms_per_chunk", "latency / chunk ms", 1.0)),
        "shipped `mt10-dit`, its 3 hardest MT10 tasks, 20 episodes each on seeds 1000–1019",
    ),
}


def elastic_row(spec: str) -> tuple[str, str, tuple[str, ...]]:
    """The configuration of an ``--elastic LABEL:OPTS`` flag."""
    label, sep, opts = spec.partition(":")
    options = tuple(o.strip() for o in opts.split(",") if o.strip())
    if not sep or not label or not any(o.startswith("routers=") for o in options):
        raise SystemExit(f"error: --elastic {spec!r}: expected LABEL:routers=PATH[,KEY=VALUE...]")
    return f"elastic {label}", "elastic", options


def cache_flags(cache: str, opts: tuple[str, ...]) -> list[str]:
    """The eval flags of one cache configuration."""
    return ["--cache", cache, *(f for opt in opts for f in ("--cache-opts", opt))]


def run_eval(bench: DomainBench, flags: list[str], extra: list[str]) -> dict:
    """One ``eval --json`` with `flags` in a fresh process; its parsed last stdout line."""
    exe = shutil.which(bench.script)
    if exe is None:
        raise SystemExit(f"error: {bench.script} is not on PATH (run inside the uv workspace)")
    cmd = [exe, "eval", "--json", *bench.args, *extra, *flags]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def metric_cells(bench: DomainBench, metrics: dict, base: dict | None) -> list[str]:
    """The table's metric cells of one run; with `base`, each followed by its change from it."""
    cells = []
    for key, _, scale in bench.metrics:
        value = metrics.get(key)
        if value is None:
            cells.append("–")
        elif base is None:
            cells.append(f"{scale * value:.2f}")
        else:
            cells.append(f"{scale * value:.2f} ({scale * (value - base[key]):+.2f})")
    return cells


def markdown(domain: str, bench: DomainBench, rows: list[dict]) -> str:
    """The table of one domain: a row per cache, metric deltas against the uncached row."""
    base = rows[0]["metrics"]
    titles = [title for _, title, _ in bench.metrics]
    head = ["cache", "speedup (sampling)", "speedup (eval)", "compute saved", *titles]
    lines = [f"**{domain}** — {bench.note}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for row in rows:
        m = row["metrics"]
        sampling = base["sampling_seconds"] / m["sampling_seconds"]
        whole = base["eval_seconds"] / m["eval_seconds"]
        saved = 1.0 - m.get("cache_block_fraction", 1.0)
        cells = [row["name"], f"{sampling:.2f}×", f"{whole:.2f}×", f"{100 * saved:.0f}%"]
        cells += metric_cells(bench, m, None if row is rows[0] else base)
        lines.append("| " + " | ".join(cells) + " |")
    repeats = " and ".join(f"{s:.1f}" for s in rows[0].get("repeat_seconds", []))
    lines += [
        "",
        f"Uncached: {base['sampling_seconds']:.1f} s sampling (the faster of {repeats} s, run "
        f"first and last), {base['eval_seconds']:.1f} s eval.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", default=",".join(DOMAINS), help="Comma-separated domains.")
    parser.add_argument(
        "--caches", default="", help="Comma-separated configuration names (default: all)."
    )
    parser.add_argument(
        "--eval-args", default="", help="Extra eval flags for every run, e.g. '--num 200'."
    )
    parser.add_argument(
        "--elastic",
        action="append",
        default=[],
        metavar="LABEL:OPTS",
        help="Add an E-DiT row: a label, then its comma-separated --cache-opts "
        "(routers=PATH required), e.g. 'routers:routers=runs/r.safetensors,threshold=0.6'.",
    )
    parser.add_argument("--out", type=Path, help="Write results.jsonl and tables.md here.")
    args = parser.parse_args(argv)
    wanted = {c.strip() for c in args.caches.split(",") if c.strip()}
    configs = [c for c in CACHES if c[0] == "none" or not wanted or c[0] in wanted]
    configs += [elastic_row(spec) for spec in args.elastic]
    records, tables = [], []
    for domain in (d.strip() for d in args.domains.split(",")):
        if domain not in DOMAINS:
            raise SystemExit(f"error: --domains: unknown {domain!r}; known: {', '.join(DOMAINS)}")
        bench, rows = DOMAINS[domain], []
        # the uncached run goes first and again last; its faster time is the baseline, so a
        # burst of load from other processes during one of them does not inflate every speedup
        for name, cache, opts in [*configs, configs[0]]:
            metrics = run_eval(bench, cache_flags(cache, opts), args.eval_args.split())
            row = {"domain": domain, "name": name, "cache": cache, "opts": opts}
            rows.append({**row, "metrics": metrics})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        last = rows.pop()["metrics"]
        first = rows[0]["metrics"]
        rows[0]["repeat_seconds"] = [first["sampling_seconds"], last["sampling_seconds"]]
        for key in ("sampling_seconds", "eval_seconds"):
            first[key] = min(first[key], last[key])
        records += rows
        tables.append(markdown(domain, bench, rows))
        print(tables[-1] + "\n", flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(r) + "\n" for r in records)
        atomic_write_text(args.out / "results.jsonl", lines)
        atomic_write_text(args.out / "tables.md", "\n\n".join(tables) + "\n")


if __name__ == "__main__":
    main()
