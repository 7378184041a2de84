"""`polydit-molecule`: the core CLI factory plus the molecule flags (--skip-bad for train and
data show; --split for data show; --kind and --gap for sample and eval).

``sample`` writes every generated molecule into DIR/molecules.sdf (the records RDKit reads back
with sanitisation) or DIR/invalid.sdf (the others, with RDKit's error), and samples.json (one
record per molecule: file, record index, flags, SMILES); ``eval --json`` prints EDM's metrics,
``eval --report DIR`` also draws DIR/molecule_report.png. With ``--kind crystal`` (or a crystal
model) ``sample`` writes one CIF per structure and ``eval`` prints the CDVAE/DiffCSP crystal
metrics; a joint model needs ``--kind molecule|crystal`` (a usage error without it).
``train --data`` picks the recipe: crystals|FILE.cif|DIR a crystal model, MOLECULES+CRYSTALS
(e.g. qm9+crystals) the joint model, anything else a molecule model. This module imports no
torch at module level: `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.cli import CATEGORICAL_FLAGS, Domain, Flag, GalleryItem, make_cli, run_cli
from polydit.molecule import PRETRAINED

if TYPE_CHECKING:
    from polydit.core.cli import DataOptions, EvalOptions, SampleOptions, TrainOptions

CRYSTAL_MODEL = "crystals"
VIEWED = 4  # molecules the gallery shows in 3D
DEMO_NUM = 8
KINDS = ("auto", "molecule", "crystal")
GAP_HELP = "Target HOMO–LUMO gap in eV (a gap-conditioned model; --cfg guides it)."
KIND_HELP = (
    "What to generate: auto follows the model (a joint model needs molecule or crystal); "
    "crystal with the default model uses the shipped crystal model."
)
COORD_ETA_HELP = (
    "Bond-mode coordinates: DDIM stochasticity in [0, 1] (0 the flow's Euler step, 1 DDPM's "
    "posterior as EDM samples); default: the model's."
)
SKIP_BAD = Flag("skip-bad", bool, False, "Skip malformed SDF/XYZ/CIF records and report them.")
GENERATION_FLAGS = (
    Flag("kind", str, "auto", KIND_HELP, choices=KINDS),
    Flag("gap", float, None, GAP_HELP),
    *CATEGORICAL_FLAGS,  # bond-mode models' atom and bond types
    Flag("coord-eta", float, None, COORD_ETA_HELP, min=0.0),
)


def generation(opts: SampleOptions | EvalOptions) -> dict[str, Any]:
    """The sampler settings of `opts` (``opts.generation()``) and the bond mode's --coord-eta."""
    coord_eta = opts.extra.get("coord_eta")
    return opts.generation() | ({} if coord_eta is None else {"coord_eta": coord_eta})


class MoleculeDomain(Domain):
    name = "molecule"
    default_model = "qm9"
    recipes = {
        "molecule": "polydit.molecule.train:RECIPE",
        "crystal": "polydit.molecule.crystal.train:RECIPE",
        "joint": "polydit.molecule.joint.train:RECIPE",
    }
    train_options = (SKIP_BAD,)
    sample_options = GENERATION_FLAGS
    eval_options = GENERATION_FLAGS
    reports = True  # eval --report DIR: DIR/molecule_report.png (molecule models)
    data_options = (
        Flag("split", str, "train", "Which QM9 split.", choices=("train", "val", "test", "all")),
        SKIP_BAD,
    )

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        """The generator of the model's kind (molecule, crystal or joint)."""
        from polydit.molecule import load_pretrained

        return load_pretrained(model_dir, device=device)

    def select_model(self, model: Path, extra: dict[str, Any]) -> Path:
        """``--kind crystal`` with the default (molecule) model means the shipped crystal model."""
        if extra.get("kind") == "crystal" and model == PRETRAINED / self.default_model:
            return PRETRAINED / CRYSTAL_MODEL
        return model

    def recipe_for(self, opts: TrainOptions) -> str:
        """joint for MOLECULES+CRYSTALS, crystal for crystal data, else molecule."""
        from polydit.molecule.crystal.data import is_crystal_data
        from polydit.molecule.joint.data import joint_data_parts

        if joint_data_parts(opts.data) is not None:
            return "joint"
        return "crystal" if is_crystal_data(opts.data) else "molecule"

    def _for_kind(self, generator: Any, opts: SampleOptions | EvalOptions) -> tuple[Any, Any]:
        """(`generator` after checking it generates what `--kind` asks for — a joint model gives
        its generator of that kind and needs --kind molecule or crystal (a usage error
        without) —, the --gap target)."""
        from polydit.core.errors import ConfigError

        kind, gap = opts.extra.get("kind", "auto"), opts.extra.get("gap")
        have = generator.kind
        if have == "joint":
            if kind == "auto":
                raise typer.BadParameter(
                    f"{opts.model} is a joint molecule + crystal model; "
                    "pass --kind molecule or --kind crystal",
                    param_hint="'--kind'",
                )
            generator = generator.for_kind(kind)
        elif kind not in ("auto", have):
            raise ConfigError(f"--kind {kind}: the model {opts.model} generates {have}s")
        if generator.kind == "crystal" and gap is not None:
            raise ConfigError("--gap conditions molecule models only, not crystals")
        return generator, gap

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        generator, gap = self._for_kind(generator, opts)
        if generator.kind == "crystal":
            from polydit.molecule.crystal.io import write_records

            structures = generator.sample(opts.num, opts.seed, **opts.generation())
            counts = generator.atom_counts(opts.num, opts.seed).tolist()
            return write_records(out, structures, counts, opts.seed, opts.first)
        from polydit.molecule.io import write_records

        if opts.first == 0:
            self.written = {}  # records per SDF of this run so far (a run's batches append)
        mols = generator.sample(opts.num, opts.seed, gap=gap, **generation(opts))
        conditioning = {} if gap is None else {"gap": gap}
        return write_records(out, mols, opts.seed, conditioning, self.written, opts.first)

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.core.errors import ConfigError
        from polydit.molecule.evaluation import EVAL_NUM, evaluate_generator

        generator, gap = self._for_kind(generator, opts)
        num = opts.num or EVAL_NUM
        if generator.kind == "crystal":
            from polydit.molecule.crystal.evaluation import evaluate_crystal_generator

            if opts.report is not None:
                raise ConfigError(
                    f"--report: {opts.model} generates crystals; the report figure is drawn "
                    "for molecule models"
                )
            return evaluate_crystal_generator(generator, num, opts.seed, **opts.generation())
        metrics = evaluate_generator(
            generator, num, opts.seed, gap=gap, report=opts.report, **generation(opts)
        )
        return metrics if gap is None else {**metrics, "target_gap": gap}

    def data_show(self, opts: DataOptions) -> None:
        from polydit.molecule.crystal.data import is_crystal_data

        skip_bad = opts.extra.get("skip_bad", False)
        if is_crystal_data(opts.data):
            from polydit.molecule.crystal.data import describe, load_crystals

            data, skipped = load_crystals(opts.data, seed=opts.seed, skip_bad=skip_bad)
        else:
            from polydit.molecule.data import describe, load_dataset

            data, skipped = load_dataset(opts.data, opts.extra.get("split", "train"), skip_bad)
        for line in describe(data, skipped, opts.num, opts.seed, opts.out):
            typer.echo(line)

    def info(self, generator: Any) -> dict[str, Any]:
        """The core facts plus the model's kind (and each kind's sampling for a joint model)."""
        facts = {"kind": generator.kind, **super().info(generator)}
        if generator.kind == "joint":
            crystal = generator.codec.crystal_sampling.to_dict()
            facts["sampling"] = {"molecule": facts["sampling"], "crystal": crystal}
        return facts

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.molecule.io import SDF_NAME, VALID_PROP, write_sdf
        from polydit.molecule.render import draw_grid

        mols = generator.sample(DEMO_NUM, seed)
        write_sdf(out / SDF_NAME, mols)
        draw_grid(out / "molecules.png", mols)
        valid = sum(m.GetIntProp(VALID_PROP) for m in mols)
        command = f"polydit-molecule sample --num {DEMO_NUM} --seed {seed} --dtype fp32 --out DIR"
        caption = (
            f"{DEMO_NUM} molecules generated atom by atom (3D coordinates + element types) by the "
            f"shipped {generator.codec.data} model; {valid}/{DEMO_NUM} pass RDKit sanitisation "
            "(2D depictions of the perceived bonds; invalid ones marked)"
        )
        items = [GalleryItem(Path("molecules.png"), caption, command)]
        for i in range(VIEWED):  # one file each: the gallery's 3D viewer shows one molecule
            write_sdf(out / f"molecule_{i}.sdf", mols[i : i + 1])
            items.append(GalleryItem(Path(f"molecule_{i}.sdf"), f"molecule {i} in 3D", command))
        items.append(GalleryItem(Path(SDF_NAME), f"all {DEMO_NUM} molecules (SDF)", command))
        return items


DOMAIN = MoleculeDomain()
app = make_cli(DOMAIN)


def main() -> None:
    run_cli(app)
