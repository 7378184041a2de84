"""`polydit-molecule`: the core CLI factory plus the molecule flags (--skip-bad for train;
--split for data show; --kind for sample and eval).

``sample`` writes DIR/molecules.sdf (one record per generated molecule, invalid ones included
with ``polydit_valid`` = 0) and samples.json; ``eval --json`` prints EDM's metrics. With
``--kind crystal`` (or a crystal model) ``sample`` writes one CIF per structure and ``eval``
prints the CDVAE/DiffCSP crystal metrics. ``train --data crystals|FILE.cif|DIR`` trains a crystal
model. This module imports no torch at module level: `--help` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer

from polydit.core.cli import (
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    SampleOptions,
    TrainOptions,
    make_cli,
    run_cli,
)

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
SDF_NAME = "molecules.sdf"
CRYSTAL_MODEL = "crystals"
DEMO_NUM = 8
KINDS = ("auto", "molecule", "crystal")
GAP_HELP = "Target HOMO–LUMO gap in eV (a gap-conditioned model; --cfg guides it)."
KIND_HELP = (
    "What to generate: auto follows the model (a joint model needs molecule or crystal); "
    "crystal with the default model uses the shipped crystal model."
)


def _no_gap(opts: SampleOptions | EvalOptions) -> None:
    from polydit.core.errors import ConfigError

    if opts.extra.get("gap") is not None:
        raise ConfigError("--gap conditions molecule models only, not crystals")


def model_kind(model_dir: Path) -> str:
    """ "molecule", "crystal" or "joint", from a pretrained directory's config.json."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return "molecule"  # load() reports the real problem
    return config.get("codec", {}).get("kind", "molecule")


def is_crystal_data(data: str | None) -> bool:
    """`train --data` names the built-in crystal set, a CIF file or a directory of CIF files."""
    if data is None:
        return False
    path = Path(data)
    return (
        data == CRYSTAL_MODEL
        or path.suffix.lower() == ".cif"
        or (path.is_dir() and any(path.glob("*.cif")))
    )


def joint_data_parts(data: str | None) -> tuple[str, str] | None:
    """`train --data MOLECULES+CRYSTALS` (e.g. qm9+crystals) → (molecule data, crystal data);
    None for single-domain data. The second part must be crystal data."""
    from polydit.core.errors import ConfigError

    if data is None or "+" not in data or Path(data).exists():
        return None
    molecules, _, crystals = data.partition("+")
    if not molecules or not is_crystal_data(crystals) or is_crystal_data(molecules):
        raise ConfigError(
            f"--data {data}: joint training takes MOLECULES+CRYSTALS, e.g. qm9+crystals "
            "(molecules: qm9, qm9-noh or an .sdf/.xyz file; crystals: crystals, a .cif file or "
            "a directory of them)"
        )
    return molecules, crystals


class MoleculeDomain(Domain):
    name = "molecule"
    package = "polydit-molecule"
    pretrained_root = PRETRAINED
    default_model = "qm9"
    train_options = (
        Flag("skip-bad", bool, False, "Skip malformed SDF/XYZ records and report them."),
    )
    sample_options = (
        Flag("kind", str, "auto", KIND_HELP, choices=KINDS),
        Flag("gap", float, None, GAP_HELP),
    )
    eval_options = (
        Flag("kind", str, "auto", KIND_HELP, choices=KINDS),
        Flag("gap", float, None, GAP_HELP),
    )
    data_options = (
        Flag("split", str, "train", "Which QM9 split.", choices=("train", "val", "test", "all")),
        Flag("skip-bad", bool, False, "Skip malformed SDF/XYZ records and report them."),
    )

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        from polydit.molecule import load_pretrained

        return load_pretrained(model_dir, device=device)

    def select_model(self, model: Path, extra: dict[str, Any]) -> Path:
        """``--kind crystal`` with the default (molecule) model means the shipped crystal model."""
        if extra.get("kind") == "crystal" and model == PRETRAINED / self.default_model:
            return PRETRAINED / CRYSTAL_MODEL
        return model

    def _for_kind(self, generator: Any, opts: SampleOptions | EvalOptions) -> Any:
        """`generator`, after checking it generates what `--kind` asks for; a joint model gives
        its generator of that kind (and needs --kind molecule or crystal)."""
        from polydit.core.errors import ConfigError

        kind = opts.extra.get("kind", "auto")
        have = getattr(generator, "kind", "molecule")
        if have == "joint":
            if kind == "auto":
                raise ConfigError(
                    f"--kind: {opts.model} is a joint molecule + crystal model; "
                    "pass --kind molecule or --kind crystal"
                )
            return generator.for_kind(kind)
        if kind in ("auto", have):
            return generator
        raise ConfigError(f"--kind {kind}: the model {opts.model} generates {have}s")

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.molecule.io import SMILES_PROP, VALID_PROP, write_sdf

        generator = self._for_kind(generator, opts)
        if generator.kind == "crystal":
            _no_gap(opts)
            return self._sample_crystals(generator, opts, out)
        gap = opts.extra.get("gap")
        mols = generator.sample(opts.num, opts.seed, gap=gap, **opts.generation())
        write_sdf(out / SDF_NAME, mols)
        return [
            {
                "file": SDF_NAME,
                "record": i,
                "seed": opts.seed + i,
                "num_atoms": mol.GetNumAtoms(),
                "valid": bool(mol.GetIntProp(VALID_PROP)),
                "smiles": mol.GetProp(SMILES_PROP),
                "conditioning": {} if gap is None else {"gap": gap},
            }
            for i, mol in enumerate(mols)
        ]

    def _sample_crystals(
        self, generator: Any, opts: SampleOptions, out: Path
    ) -> list[dict[str, Any]]:
        from polydit.molecule.crystal_io import write_cif
        from polydit.molecule.crystal_metrics import composition_valid, structure_valid

        structures = generator.sample(opts.num, opts.seed, **opts.generation())
        records = []
        for i, s in enumerate(structures):
            name = f"crystal_{i:04d}.cif"
            if s is not None:
                write_cif(out / name, s)
            records.append(
                {
                    "file": name if s is not None else None,
                    "seed": opts.seed + i,
                    "num_atoms": generator.atom_counts(1, opts.seed + i).item(),
                    "formula": None if s is None else s.composition.reduced_formula,
                    "structure_valid": s is not None and structure_valid(s),
                    "composition_valid": s is not None and composition_valid(s),
                    "conditioning": {},
                }
            )
        return records

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.molecule.evaluation import (
            EVAL_NUM,
            evaluate_crystal_generator,
            evaluate_generator,
        )

        generator = self._for_kind(generator, opts)
        if generator.kind == "crystal":
            _no_gap(opts)
            return evaluate_crystal_generator(
                generator, opts.num or EVAL_NUM, opts.seed, **opts.generation()
            )
        gap = opts.extra.get("gap")
        metrics = evaluate_generator(
            generator,
            opts.num or EVAL_NUM,
            opts.seed,
            gap=gap,
            **opts.generation(),
        )
        return metrics if gap is None else {**metrics, "target_gap": gap}

    def train(self, opts: TrainOptions) -> Path:
        if joint_data_parts(opts.data) is not None:
            return self._train_joint(opts)
        if is_crystal_data(opts.data):
            return self._train_crystals(opts)
        from polydit.molecule.data import load_dataset
        from polydit.molecule.train import MoleculeTrainSpec, train_molecules

        spec = MoleculeTrainSpec().merged(opts.config, where="--config")
        spec = spec.replace(train=opts.apply_to(spec.train))
        data, skipped = load_dataset(opts.data, "train", opts.extra.get("skip_bad", False))
        if skipped:
            typer.echo(f"skipped {len(skipped)} malformed record(s): {skipped[0]}", err=True)
        _, seconds = train_molecules(
            spec,
            data,
            opts.out,
            resume=opts.resume,
            seed=opts.seed,
            device=opts.device,
            init_from=opts.init_from,
        )
        typer.echo(f"trained {spec.train.steps} steps on {data.name} in {seconds:.0f}s")
        return opts.out / "model"

    def _train_crystals(self, opts: TrainOptions) -> Path:
        from polydit.molecule.crystal_data import load_crystals
        from polydit.molecule.crystal_train import CrystalTrainSpec, train_crystals

        spec = CrystalTrainSpec().merged(opts.config, where="--config")
        spec = spec.replace(train=opts.apply_to(spec.train))
        data, skipped = load_crystals(
            opts.data,
            max_atoms=spec.max_atoms,
            seed=opts.seed,
            skip_bad=opts.extra.get("skip_bad", False),
        )
        for message in skipped:
            typer.echo(f"skipped: {message}", err=True)
        _, seconds = train_crystals(
            spec,
            data,
            opts.out,
            resume=opts.resume,
            seed=opts.seed,
            device=opts.device,
            init_from=opts.init_from,
        )
        typer.echo(f"trained {spec.train.steps} steps on {data.name} in {seconds:.0f}s")
        return opts.out / "model"

    def _train_joint(self, opts: TrainOptions) -> Path:
        from polydit.core.errors import ConfigError
        from polydit.molecule.crystal_data import load_crystals
        from polydit.molecule.data import load_dataset
        from polydit.molecule.joint_data import JointSet
        from polydit.molecule.joint_train import JointTrainSpec, train_joint

        if opts.init_from is not None:
            raise ConfigError("--init-from is not supported for joint training (--data A+B)")
        molecules_name, crystals_name = joint_data_parts(opts.data)
        spec = JointTrainSpec().merged(opts.config, where="--config")
        spec = spec.replace(train=opts.apply_to(spec.train))
        skip_bad = opts.extra.get("skip_bad", False)
        molecules, skipped = load_dataset(molecules_name, "train", skip_bad)
        crystals, messages = load_crystals(
            crystals_name, max_atoms=spec.max_atoms, seed=opts.seed, skip_bad=skip_bad
        )
        for message in [*skipped, *messages]:
            typer.echo(f"skipped: {message}", err=True)
        data = JointSet(molecules, crystals, spec.crystal_fraction)
        _, seconds = train_joint(
            spec, data, opts.out, resume=opts.resume, seed=opts.seed, device=opts.device
        )
        typer.echo(f"trained {spec.train.steps} steps on {data.name} in {seconds:.0f}s")
        return opts.out / "model"

    def data_show(self, opts: DataOptions) -> None:
        if is_crystal_data(opts.data):
            return self._show_crystals(opts)
        import numpy as np

        from polydit.molecule.data import load_dataset
        from polydit.molecule.io import to_rdkit, write_sdf

        data, skipped = load_dataset(
            opts.data, opts.extra.get("split", "train"), opts.extra.get("skip_bad", False)
        )
        counts = np.bincount(data.types[data.types >= 0], minlength=len(data.atom_types))
        typer.echo(
            f"{data.name}: {len(data)} molecules, {int(data.num_atoms.sum())} atoms, "
            f"{int(data.num_atoms.min())}–{data.max_atoms} atoms per molecule "
            f"(mean {data.num_atoms.mean():.1f})"
        )
        for element, count in zip(data.atom_types, counts.tolist(), strict=True):
            typer.echo(f"  {element}: {count} atoms")
        if skipped:
            typer.echo(f"skipped {len(skipped)} malformed record(s), e.g. {skipped[0]}")
        picks = np.random.default_rng(opts.seed).permutation(len(data))[: opts.num]
        typer.echo("examples: " + ", ".join(f"#{i} {data.smiles[i]}" for i in picks.tolist()))
        if opts.out is not None:
            path = write_sdf(
                opts.out / "examples.sdf", [to_rdkit(*data.molecule(i)) for i in picks]
            )
            typer.echo(f"wrote {len(picks)} examples to {path}")

    def _show_crystals(self, opts: DataOptions) -> None:
        import numpy as np

        from polydit.molecule.crystal_data import load_crystals
        from polydit.molecule.crystal_io import write_cif

        data, skipped = load_crystals(
            opts.data, seed=opts.seed, skip_bad=opts.extra.get("skip_bad", False)
        )
        n = data.num_atoms()
        typer.echo(
            f"{data.name}: {len(data)} structures, {len(data.codec.elements)} elements, "
            f"{n.min()}–{n.max()} atoms per cell (mean {n.mean():.1f})"
        )
        for message in skipped:
            typer.echo(f"skipped: {message}")
        picks = np.random.default_rng(opts.seed).permutation(len(data))[: opts.num]
        typer.echo(
            "examples: "
            + ", ".join(
                f"#{i} {data.structures[i].composition.reduced_formula} ({data.sources[i]})"
                for i in picks.tolist()
            )
        )
        if opts.out is not None:
            for i in picks.tolist():
                write_cif(opts.out / f"crystal_{i:04d}.cif", data.structures[i])
            typer.echo(f"wrote {len(picks)} CIF files to {opts.out}")

    def info(self, generator: Any) -> dict[str, Any]:
        model = generator.model
        joint = getattr(generator, "kind", "molecule") == "joint"
        sampling = (
            {k: dataclasses.asdict(v) for k, v in generator.kind_sampling.items()}
            if joint
            else dataclasses.asdict(generator.sampling)
        )
        return {
            "kind": getattr(generator, "kind", "molecule"),
            "parameters": sum(p.numel() for p in model.parameters()),
            "architecture": model.config.to_dict(),
            "codec": generator.codec.to_dict(),
            "training_data": generator.datasets if joint else generator.data,
            "max_atoms": generator.max_atoms,
            "process": generator.process.config.to_dict(),
            "sampling": sampling,
        }

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.molecule.io import write_sdf
        from polydit.molecule.render import draw_grid

        mols = generator.sample(DEMO_NUM, seed)
        write_sdf(out / SDF_NAME, mols)
        draw_grid(out / "molecules.png", mols)
        valid = sum(m.GetIntProp("polydit_valid") for m in mols)
        command = f"polydit-molecule sample --num {DEMO_NUM} --seed {seed} --out DIR"
        caption = (
            f"{DEMO_NUM} molecules generated atom by atom (3D coordinates + element types) by the "
            f"shipped {generator.data} model; {valid}/{DEMO_NUM} pass RDKit sanitisation "
            "(2D depictions of the perceived bonds; invalid ones marked)"
        )
        return [
            GalleryItem(Path("molecules.png"), caption, command),
            GalleryItem(Path(SDF_NAME), "the same molecules with 3D coordinates (SDF)", command),
        ]


DOMAIN = MoleculeDomain()
app = make_cli(DOMAIN)


def main() -> None:
    run_cli(app)
