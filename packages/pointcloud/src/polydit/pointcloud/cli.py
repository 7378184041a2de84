"""`polydit-pointcloud`: the core CLI factory plus the point-cloud flags.

``sample --label chair --num 16 --seed 0 --out DIR`` writes DIR/shape_0000.ply … (one binary
PLY per cloud, in the data's units), DIR/grid.png and samples.json; ``eval --json`` prints, per
class, MMD / COV / 1-NNA under CD and EMD, JSD and the copy check against the test split;
``train --data shapes|PATH``; ``data show --split test --label chair --num 64 --out DIR`` writes
real shapes as the same PLY files. This module imports no torch at module level: ``--help``
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.cli import Domain, Flag, GalleryItem, make_cli, run_cli

if TYPE_CHECKING:
    from polydit.core.cli import DataOptions, EvalOptions, SampleOptions, TrainOptions
    from polydit.core.train import Recipe, TrainSpec

DEFAULT_MODEL = "chair-small"
GRID_COLUMNS = 8
DEMO_NUM = 16
#: points per cloud for the exact EMD and for the copy check's nearest-training-cloud search
#: (the same fixed subset of every cloud; :func:`polydit.pointcloud.metrics.point_subset`)
EMD_POINTS = 512
COPY_POINTS = 512
LABEL = Flag("label", str, None, "Class name or id; omitted: every class of the model.")
SKIP_BAD = Flag("skip-bad", bool, False, "Skip unreadable shape files and report them.")


class PointCloudDomain(Domain):
    name = "pointcloud"
    default_model = DEFAULT_MODEL
    caches = False
    generator = "polydit.pointcloud.pipeline:PointCloudGenerator"
    sample_options = (
        Flag("label", str, None, "Class name or id for every sample; omitted: uniform."),
    )
    eval_options = (
        LABEL,
        Flag("data", str, None, "Reference set: shapes or a folder; default: the model's data."),
        Flag("emd", bool, True, "Also the EMD metrics (exact; the slow part)."),
        Flag("emd-points", int, EMD_POINTS, "Points per cloud for the exact EMD.", min=2),
        Flag("copy-points", int, COPY_POINTS, "Points per cloud for the copy check.", min=2),
        Flag(
            "batch-size",
            int,
            None,
            "Average metrics over batches of this size (DiT-3D); default: whole sets (PVD).",
            min=2,
        ),
        SKIP_BAD,
    )
    train_options = (
        Flag("process", str, None, "ddpm (DiT-3D, default) or flow.", choices=("ddpm", "flow")),
        SKIP_BAD,
    )
    data_options = (
        Flag("split", str, "train", "Which split.", choices=("train", "val", "test")),
        LABEL,
        SKIP_BAD,
    )

    def train_spec(self, recipe: Recipe, opts: TrainOptions) -> TrainSpec:
        """The recipe's spec with ``--process ddpm|flow`` applied."""
        spec = super().train_spec(recipe, opts)
        if opts.extra.get("process"):
            spec = spec.replace(process=opts.extra["process"])
        return spec

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.pointcloud.draw import draw_grid
        from polydit.pointcloud.io import write_ply

        label = _label(opts.extra.get("label"))
        settings = opts.generation()
        samples = generator.sample(opts.num, label, seed=opts.seed, **settings)
        clouds = samples.points
        records = []
        for i, (cloud, name) in enumerate(zip(clouds, samples.labels, strict=True)):
            file = f"shape_{opts.first + i:04d}.ply"
            write_ply(out / file, cloud)
            records.append({"file": file, "seed": opts.seed + i, "conditioning": {"label": name}})
        if opts.first == 0:
            draw_grid(out / "grid.png", list(clouds), min(GRID_COLUMNS, len(clouds)))
        return records

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.pointcloud.evaluate import evaluate_generator

        extra = opts.extra
        return evaluate_generator(
            generator,
            data=extra.get("data"),
            label=_label(extra.get("label")),
            num=opts.num,
            seed=opts.seed,
            emd=extra.get("emd", True),
            emd_points=extra.get("emd_points") or EMD_POINTS,
            copy_points=extra.get("copy_points") or COPY_POINTS,
            batch_size=extra.get("batch_size"),
            skip_bad=extra.get("skip_bad", False),
            **opts.generation(),
        )

    def data_show(self, opts: DataOptions) -> None:
        import torch

        from polydit.pointcloud.data import BUILTIN, load_dataset, load_shapes
        from polydit.pointcloud.draw import draw_grid
        from polydit.pointcloud.io import write_ply

        extra = opts.extra
        split = extra.get("split") or "train"
        label = _label(extra.get("label"))
        if (opts.data or BUILTIN) == BUILTIN and label is not None:
            data, skipped = load_shapes(split, (_category(label),)), []
        else:
            data, skipped = load_dataset(
                opts.data or BUILTIN, split, skip_bad=extra.get("skip_bad", False)
            )
        if label is not None:
            data = data.of_label(label)
        counts = torch.bincount(data.labels, minlength=len(data.class_names)).tolist()
        typer.echo(f"{data.name} {split}: {len(data)} clouds of {data.num_points} points")
        for name, count in zip(data.class_names, counts, strict=True):
            if count:
                typer.echo(f"  class {name!r}: {count}")
        for message in skipped:
            typer.echo(f"skipped: {message}", err=True)
        g = torch.Generator().manual_seed(opts.seed)
        picks = torch.randperm(len(data), generator=g)[: opts.num].tolist()
        if opts.out is None:
            typer.echo("examples: " + ", ".join(data.sources[i] for i in picks))
            return
        clouds = data.denormalised()[picks].numpy()
        for i, cloud in zip(picks, clouds, strict=True):
            write_ply(opts.out / f"{data.sources[i].replace('/', '_')}.ply", cloud)
        draw_grid(opts.out / "grid.png", list(clouds), min(GRID_COLUMNS, len(clouds)))
        typer.echo(f"wrote {len(picks)} shapes and grid.png to {opts.out}")

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.pointcloud.draw import draw_grid

        items = []
        for name in generator.codec.class_names:
            clouds = generator.sample(DEMO_NUM, label=name, seed=seed).points
            draw_grid(out / f"{name}.png", list(clouds), GRID_COLUMNS)
            command = f"polydit-pointcloud sample --label {name} --num {DEMO_NUM} --seed {seed} --dtype fp32 --out DIR"
            sampling = generator.sampling
            caption = (
                f"{DEMO_NUM} {name} clouds of the shipped {self.default_model} model "
                f"({generator.codec.num_points} points, {sampling.sampler} {sampling.steps} steps)"
            )
            items.append(GalleryItem(Path(f"{name}.png"), caption, command))
        return items


def _label(value: str | None) -> str | int | None:
    """A --label value: an integer id when it is all digits, else a class name."""
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _category(label: str | int) -> str:
    """A built-in category name from a --label name or id."""
    from polydit.core.errors import ConfigError
    from polydit.pointcloud.shapes import CATEGORIES

    if isinstance(label, int) and label < len(CATEGORIES):
        return CATEGORIES[label]
    if label in CATEGORIES:
        return str(label)
    raise ConfigError(f"--label {label!r} is not a shapes category ({', '.join(CATEGORIES)})")


DOMAIN = PointCloudDomain()
app = make_cli(DOMAIN)


def main() -> None:
    run_cli(app)
