"""Benchmarks behind the polydit-molecule README numbers (not tests).

    python -m polydit.bench.molecule.bench ceiling [--split test]        # QM9's own molecules
    python -m polydit.bench.molecule.bench export --run RUN --out DIR [--num 1000] [--step S]
        [--steps SAMPLING_STEPS] [--sampler NAME] [--no-novelty]
    python -m polydit.bench.molecule.bench curve --run RUN --checkpoints DIR [--num 200]
    python -m polydit.bench.molecule.bench crystal-random [--num 1000]  # the random floor
    python -m polydit.bench.molecule.bench crystal-split [--num 500]     # real vs real
    python -m polydit.bench.molecule.bench plot --curve CURVE.jsonl --out PNG [--floor 0.191]
    python -m polydit.bench.molecule.bench denoise --run RUN   # x0 error (Å) / type accuracy
    python -m polydit.bench.molecule.bench probe --model qm9|DIR [--run RUN] [--t 0.02,0.05,0.1]
        [--num 1000] [--seed 0] [--trajectory] [--steps N] [--grid G]
                                             # the denoising probe (probe.py): one line per t

`export` is ``polydit-molecule export`` plus an evaluation: it turns a run's EMA checkpoint
(molecule, crystal or joint, from run.json) into a pretrained directory whose metrics.json holds
the metrics of `num` samples (a joint run: each kind's under "molecule" / "crystal", each with its
stored default sampler) and the training step / wall time. `curve` prints one JSON line per
checkpoint file in DIR (metric vs training time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from polydit.core.errors import ConfigError
from polydit.core.train import from_run, list_checkpoints, load_checkpoint, read_run
from polydit.molecule.crystal.evaluation import evaluate_crystal_generator
from polydit.molecule.crystal.pipeline import CrystalGenerator
from polydit.molecule.data import load_qm9
from polydit.molecule.evaluation import evaluate_generator, training_smiles
from polydit.molecule.joint.pipeline import JointGenerator
from polydit.molecule.metrics import edm_metrics
from polydit.molecule.pipeline import MoleculeGenerator

PIPELINES = {"molecule": MoleculeGenerator, "crystal": CrystalGenerator, "joint": JointGenerator}


def training_time(run: Path, step: int) -> float | None:
    """Training wall seconds up to `step`, summed over resumed segments of metrics.jsonl."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return None
    total, segment, last = 0.0, 0.0, None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "elapsed_s" not in record or record.get("step", 0) > step:
            continue
        if record["elapsed_s"] < segment:  # a resumed segment restarts its clock
            total += segment
        segment, last = record["elapsed_s"], record["step"]
    return None if last is None else total + segment


def ceiling(split: str) -> dict[str, Any]:
    data = load_qm9(split)
    reference = training_smiles("qm9")
    metrics = edm_metrics((data.molecule(i) for i in range(len(data))), reference)
    return {"data": f"qm9 {split}", **metrics}


def export(
    run: Path,
    out: Path,
    num: int,
    step: int | None,
    seed: int,
    novelty: bool = True,
    **sampling: Any,
) -> dict[str, Any]:
    """The run's checkpoint at `step` (default: the newest) with `sampling` (steps, sampler)
    overriding its stored defaults, evaluated and saved to `out` with its metrics."""
    generator = from_run(PIPELINES[read_run(run)["recipe"]], run, step)
    generator.sampling = generator.sampling.override(**sampling)
    chosen = max(dict(list_checkpoints(run / "checkpoints"))) if step is None else step
    metrics: dict[str, Any] = {
        "train_step": chosen,
        "train_seconds": training_time(run, chosen),
        "eval_seed": seed,
    }
    evaluators = {"molecule": evaluate_generator, "crystal": evaluate_crystal_generator}
    kinds = {generator.kind: generator}
    if generator.kind == "joint":
        kinds = {kind: generator.for_kind(kind) for kind in evaluators}
    for kind, part in kinds.items():
        scores = evaluators[kind](part, num, seed, novelty=novelty)
        scores |= {"sampling_steps": part.sampling.steps, "sampler": part.sampling.sampler}
        metrics |= {kind: scores} if generator.kind == "joint" else scores
    generator.save_pretrained(out, metrics=metrics)
    return metrics


def curve(run: Path, checkpoints: Path, num: int, seed: int, steps: int | None) -> None:
    generator = from_run(MoleculeGenerator, run)
    for step, path in list_checkpoints(checkpoints):
        generator.model.load_state_dict(load_checkpoint(path)["ema"])
        overrides = {} if steps is None else {"steps": steps}
        metrics = evaluate_generator(generator, num, seed, **overrides)
        row = {"step": step, "train_seconds": training_time(run, step), **metrics}
        print(json.dumps(row), flush=True)


def random_crystals(structures: list, num: int, seed: int) -> list:
    """The floor's `num` structures: the atom counts and lattices of randomly drawn `structures`,
    uniformly random fractional coordinates and elements drawn independently from the elements'
    frequencies in `structures`."""
    import numpy as np
    from pymatgen.core import Structure

    rng = np.random.default_rng(seed)
    species = [str(sp) for s in structures for sp in s.species]
    out = []
    for i in rng.integers(0, len(structures), num):
        template = structures[int(i)]
        n = len(template)
        picks = [species[j] for j in rng.integers(0, len(species), n)]
        out.append(Structure(template.lattice, picks, rng.random((n, 3))))
    return out


def split_crystals(structures: list, num: int, seed: int) -> tuple[list, list]:
    """(held out, rest): `num` randomly chosen `structures` and the others."""
    import numpy as np

    if not 0 < num < len(structures):
        raise ConfigError(f"--num must be in [1, {len(structures) - 1}], got {num}")
    order = np.random.default_rng(seed).permutation(len(structures)).tolist()
    return [structures[i] for i in order[:num]], [structures[i] for i in order[num:]]


def crystal_random(num: int, seed: int) -> dict[str, Any]:
    """Floor: :func:`random_crystals` of the built-in set, scored like generated ones against
    the built-in set."""
    from polydit.molecule.crystal.data import load_crystals
    from polydit.molecule.crystal.metrics import crystal_metrics

    data = load_crystals("crystals", seed=seed)[0]
    floor = random_crystals(data.structures, num, seed)
    return {"baseline": "random", **crystal_metrics(floor, data.structures)}


def crystal_split(num: int, seed: int) -> dict[str, Any]:
    """Real-vs-real reference: `num` held-out cells of the built-in set (:func:`split_crystals`)
    scored as if generated, against the rest as the reference (no cell is in both)."""
    from polydit.molecule.crystal.data import load_crystals
    from polydit.molecule.crystal.metrics import crystal_metrics

    data = load_crystals("crystals", seed=seed)[0]
    held_out, rest = split_crystals(data.structures, num, seed)
    return {
        "baseline": f"held-out {len(held_out)} of {len(data)} vs the other {len(rest)}",
        **crystal_metrics(held_out, rest),
    }


def plot(curve: Path, out: Path, floor: float | None) -> None:
    """Atom stability and validity (%) against training wall-clock hours, from `curve` output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from polydit.core.atomic import atomic_write

    rows = [json.loads(line) for line in curve.read_text().splitlines() if line.strip()]
    rows.sort(key=lambda r: r["train_seconds"])
    hours = [r["train_seconds"] / 3600 for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    ax.plot(hours, [100 * r["atom_stability"] for r in rows], "o-", label="atom stability")
    ax.plot(hours, [100 * r["validity"] for r in rows], "s-", label="RDKit validity")
    if floor is not None:
        ax.axhline(100 * floor, color="grey", ls=":", label="random coordinates (atom stab.)")
    ax.axhline(95, color="C0", ls="--", lw=0.8, label="bar: atom stability 95")
    ax.axhline(80, color="C1", ls="--", lw=0.8, label="bar: validity 80")
    ax.set_xlabel("training wall-clock hours (one shared CPU core)")
    ax.set_ylabel("% of generated")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.01, 0.77))
    fig.tight_layout()
    atomic_write(out, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


DENOISE_TIMES = (0.02, 0.1, 0.3, 0.6)


@torch.no_grad()
def denoise(run: Path, num: int = 512) -> None:
    """Per checkpoint: mean distance (Å) between the model's x0 estimate and the truth, and the
    argmax type accuracy, on `num` validation molecules noised to each t in DENOISE_TIMES (the
    same noise for every checkpoint and run; centred when the run centres its noise)."""
    from polydit.molecule.codec import centred_noise

    val = load_qm9("val")
    batch = val.batch(torch.arange(num))
    generator = from_run(MoleculeGenerator, run)
    tokens = generator.codec.encode(batch)
    rng = torch.Generator().manual_seed(0)
    noise = centred_noise(tuple(tokens.x.shape), tokens.mask, rng)
    if not generator.codec.centre_noise:
        noise = torch.randn(tokens.x.shape, generator=torch.Generator().manual_seed(0))
    m = tokens.mask
    for step, path in list_checkpoints(run / "checkpoints"):
        generator.model.load_state_dict(load_checkpoint(path)["ema"])
        row: dict[str, Any] = {"step": step}
        for t in DENOISE_TIMES:
            tt = torch.full((num,), t)
            xt = (1 - t) * tokens.x + t * noise
            x0, _ = generator.process.to_x0_eps(xt, tt, generator.model(tokens.with_x(xt), tt))
            atoms = generator.codec.decode(x0, tokens)
            row[f"x0_error_A@{t}"] = (atoms.coords - batch["coords"]).norm(dim=-1)[m].mean().item()
            row[f"type_accuracy@{t}"] = (atoms.types[m] == batch["types"][m]).float().mean().item()
        print(json.dumps(row), flush=True)


def run_probe(
    model: str,
    run: Path | None,
    times: str,
    num: int,
    seed: int,
    trajectory: bool = False,
    **sampling: Any,
) -> None:
    """The denoising probe of `model` (a shipped name or directory) or of the newest checkpoint
    of `run` on `num` QM9 test molecules: one JSON line per t; `trajectory`: the trajectory
    probe (bond-mode models), with `sampling` overrides (steps, grid, ...)."""
    from polydit.bench.molecule.probe import (
        bond_probe,
        probe,
        probe_molecules,
        trajectory_probe,
    )
    from polydit.molecule import load_pretrained

    generator = from_run(MoleculeGenerator, run) if run else load_pretrained(model)
    bonds = generator.codec.bonds
    if trajectory and not bonds:
        raise SystemExit("error: --trajectory needs a bond-mode model")
    test = load_qm9("test", hydrogens=generator.codec.data != "qm9-noh", bonds=bonds)
    data = probe_molecules(test, num, seed)
    grid = [float(t) for t in times.split(",")]
    if trajectory:
        sampling = {k: v for k, v in sampling.items() if v is not None}
        rows = trajectory_probe(generator, data, grid, seed, **sampling)
    else:
        measure = bond_probe if bonds else probe
        rows = measure(generator.model, generator.process, generator.codec, data, grid, seed)
    for row in rows:
        print(json.dumps({"model": str(run or model), **row}), flush=True)


def main(argv: list[str] | None = None) -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="python -m polydit.bench.molecule.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ceiling")
    p.add_argument("--split", default="test")
    p = sub.add_parser("export")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--step", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="sampling steps stored and used")
    p.add_argument("--sampler", default=None, help="sampler stored and used")
    p.add_argument("--no-novelty", dest="novelty", action="store_false")
    p = sub.add_parser("curve")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--checkpoints", type=Path, required=True)
    p.add_argument("--num", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None)
    p = sub.add_parser("crystal-random")
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("crystal-split")
    p.add_argument("--num", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("denoise")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--num", type=int, default=512)
    p = sub.add_parser("probe")
    p.add_argument("--model", default="qm9")
    p.add_argument("--run", type=Path, default=None, help="a run folder (its newest checkpoint)")
    p.add_argument("--t", dest="times", default="0.02,0.05,0.1")
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trajectory", action="store_true", help="sample from t to 0 (bond mode)")
    p.add_argument("--steps", type=int, default=None, help="trajectory: steps of a full 1 → 0")
    p.add_argument("--grid", default=None, help="trajectory: the time grid")
    p.add_argument("--sampler", default=None, help="trajectory: the categorical sampler")
    p = sub.add_parser("plot")
    p.add_argument("--curve", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--floor", type=float, default=None)
    args = parser.parse_args(argv)
    if args.command == "ceiling":
        print(json.dumps(ceiling(args.split)))
    elif args.command == "export":
        sampling = {"steps": args.steps, "sampler": args.sampler}
        metrics = export(
            args.run, args.out, args.num, args.step, args.seed, args.novelty, **sampling
        )
        print(json.dumps(metrics))
    elif args.command == "denoise":
        denoise(args.run, args.num)
    elif args.command == "probe":
        run_probe(
            args.model, args.run, args.times, args.num, args.seed, args.trajectory,
            steps=args.steps, grid=args.grid, sampler=args.sampler,
        )  # fmt: skip
    elif args.command == "plot":
        plot(args.curve, args.out, args.floor)
    elif args.command == "crystal-random":
        print(json.dumps(crystal_random(args.num, args.seed)))
    elif args.command == "crystal-split":
        print(json.dumps(crystal_split(args.num, args.seed)))
    else:
        curve(args.run, args.checkpoints, args.num, args.seed, args.steps)


if __name__ == "__main__":
    main()
