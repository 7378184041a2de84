"""`polydit-image`: the core CLI factory plus the image flags (--label, --prompt, --per-class,
--size, --positions for sample; --process, --text, --skip-bad for train; --split, --skip-bad for
data) and how samples are written (PNGs, grid.png).

This module imports no torch at module level: `--help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.cli import Domain, Flag, GalleryItem, make_cli, run_cli
from polydit.image import DEFAULT_MODEL

if TYPE_CHECKING:
    from polydit.core.cli import DataOptions, EvalOptions, SampleOptions, TrainOptions
    from polydit.core.train import Recipe, TrainSpec

GRID_COLUMNS = 8


class ImageDomain(Domain):
    name = "image"
    default_model = DEFAULT_MODEL
    generator = "polydit.image.pipeline:ImageGenerator"
    reports = True
    sample_options = (
        Flag("label", str, None, "Class name or id for every sample; omitted: uniform."),
        Flag("prompt", str, None, "Text prompt (text-conditional models)."),
        Flag("per-class", int, None, "N samples of every class, one grid row per class."),
        Flag("size", int, None, "Sample at a larger square size (FiTv2-style RoPE grid)."),
        Flag(
            "positions",
            str,
            "extrapolate",
            "Positions of a larger grid.",
            choices=("extrapolate", "interpolate"),
        ),
    )
    train_options = (
        Flag("process", str, None, "flow (default) or ddpm (eps prediction).", ("flow", "ddpm")),
        Flag("skip-bad", bool, False, "Skip unreadable files of a folder and report them."),
        Flag("text", bool, False, "Text-conditional (MM-DiT on prompt token features)."),
    )
    data_options = (
        Flag("split", str, "train", "Which split to show.", choices=("train", "test", "all")),
        Flag("skip-bad", bool, False, "Skip unreadable files of a folder and report them."),
    )

    def sample_count(self, generator: Any, opts: SampleOptions) -> int:
        per_class = opts.extra.get("per_class")
        return opts.num if per_class is None else len(generator.codec.class_names) * per_class

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        import torch

        from polydit.core.errors import ConfigError

        extra = opts.extra
        labels = None
        per_class = extra.get("per_class")
        if per_class is not None:
            if extra.get("label") is not None or extra.get("prompt") is not None:
                raise ConfigError("--per-class cannot be combined with --label or --prompt")
            run = torch.arange(opts.first, opts.first + opts.num)
            labels = torch.div(run, per_class, rounding_mode="floor")
        elif extra.get("label") is not None:
            labels = generator.label_index(extra["label"])
        size = extra.get("size")
        samples = generator.sample(
            opts.num,
            labels,
            prompts=extra.get("prompt"),
            seed=opts.seed,
            height=size,
            width=size,
            positions=extra.get("positions") or "extrapolate",
            **opts.generation(),
        )
        columns = per_class if per_class is not None else min(GRID_COLUMNS, opts.num)
        return write_samples(samples, out, opts.seed, columns, opts.first)

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.image.metrics import EVAL_NUM, evaluate_digits

        num = opts.num or EVAL_NUM
        return evaluate_digits(generator, num, opts.seed, report=opts.report, **opts.generation())

    def train_spec(self, recipe: Recipe, opts: TrainOptions) -> TrainSpec:
        """The recipe's spec with ``--text`` and ``--process flow|ddpm`` applied."""
        from polydit.image.train import PROCESSES

        spec = super().train_spec(recipe, opts)
        if opts.extra.get("text"):
            spec = spec.replace(text=True)
        if opts.extra.get("process"):
            spec = spec.replace(process=PROCESSES[opts.extra["process"]])
        return spec

    def data_show(self, opts: DataOptions) -> None:
        import torch

        from polydit.image.data import load_dataset
        from polydit.image.io import save_grid, save_png

        data, skipped = load_dataset(
            opts.data, opts.extra.get("split", "train"), skip_bad=opts.extra.get("skip_bad", False)
        )
        c, h, w = data.shape
        counts = torch.bincount(data.labels, minlength=len(data.class_names)).tolist()
        typer.echo(f"{data.name}: {len(data)} images, {c}×{h}×{w}, values in [-1, 1]")
        for name, count in zip(data.class_names, counts, strict=True):
            typer.echo(f"  class {name!r}: {count}")
        if skipped:
            typer.echo(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0]}")
        g = torch.Generator().manual_seed(opts.seed)
        picks = torch.randperm(len(data), generator=g)[: opts.num]
        if opts.out is None:
            typer.echo(
                "examples: "
                + ", ".join(f"#{i} ({data.class_names[data.labels[i]]})" for i in picks.tolist())
            )
            return
        for i in picks.tolist():
            save_png(opts.out / f"example_{i:05d}.png", data.images[i])
        save_grid(opts.out / "grid.png", data.images[picks], min(GRID_COLUMNS, len(picks)))
        typer.echo(f"wrote {len(picks)} examples and grid.png to {opts.out}")

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        import torch

        from polydit.core.atomic import atomic_write_text
        from polydit.image.io import save_labelled_grid

        per_class, k = 10, len(generator.codec.class_names)
        labels = torch.arange(k).repeat_interleave(per_class)
        samples = generator.sample(k * per_class, labels, seed=seed)
        records = write_samples(samples, out, seed, per_class)
        atomic_write_text(out / "samples.json", json.dumps(records, indent=2) + "\n")
        save_labelled_grid(out / "classes.png", samples.images, list(generator.codec.class_names))
        codec, sampling = generator.codec, generator.sampling
        caption = (
            f"{len(records)} samples of the shipped {codec.data or 'image'} model, one row per "
            f"class ({', '.join(codec.class_names)}), {sampling.sampler} {sampling.steps} steps, "
            f"CFG {sampling.cfg_scale}"
        )
        command = (
            f"polydit-image sample --per-class {per_class} --seed {seed} --dtype fp32 --out DIR"
        )
        return [GalleryItem(Path("classes.png"), caption, command)]


def write_samples(
    samples: Any, out: Path, seed: int, columns: int, first: int = 0
) -> list[dict[str, Any]]:
    """One PNG per sample (numbered from `first`) into `out`, and grid.png of the first batch
    (`first` 0); the samples.json records."""
    from polydit.image.io import save_grid, save_png

    records = []
    for i, image in enumerate(samples.images):
        name = f"sample_{first + i:04d}.png"
        save_png(out / name, image)
        records.append({"file": name, "seed": seed + i, "conditioning": _cond(samples, i)})
    if first == 0:
        save_grid(out / "grid.png", samples.images, columns)
    return records


def _cond(samples: Any, i: int) -> dict[str, Any]:
    record: dict[str, Any] = {}
    label = int(samples.labels[i])
    if label >= 0:
        record["label"] = label
    if samples.prompts is not None:
        record["prompt"] = samples.prompts[i]
    return record


DOMAIN = ImageDomain()
app = make_cli(DOMAIN)


def main() -> None:
    run_cli(app)
