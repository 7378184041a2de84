"""`polydit-video`: train, sample, predict, interpolate, evaluate (the core CLI factory + 2 verbs).

Light on purpose: torch and the models are imported inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.core.cli import (
    Cache,
    CacheOpts,
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
from polydit.video import DEFAULT_MODEL, PRETRAINED

GIVEN_SCALE_HELP = "Guidance on the given frames (1: none); default: the model's."


class VideoDomain(Domain):
    name = "video"
    package = "polydit-video"
    pretrained_root = PRETRAINED
    default_model = DEFAULT_MODEL
    sample_options = (
        Flag("mp4", bool, False, "Also write an MP4 per clip."),
        Flag("digit", int, -1, "Class-conditional models: the digit to sample (-1: any)."),
    )
    eval_options = (
        Flag("given", int, 4, "Frames given for prediction."),
        Flag("unconditional", int, 64, "Unconditional clips for the Fréchet/consistency metrics."),
        Flag("given-scale", float, None, GIVEN_SCALE_HELP),
    )
    data_options = (
        Flag("split", str, "train", "Moving-digits split.", choices=("train", "test")),
        Flag("frames", int, 8, "Frames per clip."),
        Flag("size", int, 24, "Frame size in pixels."),
    )

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        from polydit.video.pipeline import VideoGenerator

        return VideoGenerator.from_pretrained(model_dir, device=device)

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.video import commands

        return commands.sample(generator, opts, out)

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.video import commands

        return commands.evaluate(generator, opts)

    def train(self, opts: TrainOptions) -> Path:
        from polydit.video.train import VideoTrainSpec, train, with_steps

        spec = with_steps(
            VideoTrainSpec().merged(opts.config, where="--config"), opts.steps, opts.seed
        )
        return train(
            spec,
            opts.out,
            data=opts.data,
            resume=opts.resume,
            device=opts.device,
            init=opts.init_from,
        )

    def data_show(self, opts: DataOptions) -> None:
        from polydit.video import commands

        commands.data_show(opts)

    def info(self, generator: Any) -> dict[str, Any]:
        return generator.describe()

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.video import commands

        return commands.demo(generator, out, seed=seed)


DOMAIN = VideoDomain()
app = make_cli(DOMAIN)

Model = Annotated[str, typer.Option(metavar="NAME|DIR", help="A shipped model or a directory.")]
Input = Annotated[
    Path, typer.Option("--input", help="A GIF/MP4 clip (resampled to the model's frames/size).")
]
Out = Annotated[Path, typer.Option(file_okay=False, help="Output directory.")]
Num = Annotated[int, typer.Option(min=1, help="Number of samples.")]
Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same output.")]
Steps = Annotated[int | None, typer.Option(min=1, help="Sampling steps; default: the model's.")]
Mp4 = Annotated[bool, typer.Option("--mp4/--no-mp4", help="Also write MP4s.")]
GivenScale = Annotated[float | None, typer.Option(min=0.0, help=GIVEN_SCALE_HELP)]


def _overrides(
    steps: int | None, given_scale: float | None, cache: str, cache_opts: list[str] | None
) -> dict[str, Any]:
    from polydit.core.cli.params import parse_cache_opts

    return {
        "steps": steps,
        "given_scale": given_scale,
        "cache": cache,
        "cache_opts": parse_cache_opts(cache_opts),
    }


def _load(model: str) -> Any:
    from polydit.core.cli.params import model_resolver

    return DOMAIN.load(model_resolver(DOMAIN)(model), device="cpu", dtype="fp32")


@app.command("predict")
def predict(
    input: Input,
    given: Annotated[int, typer.Option(min=1, help="Frames of the clip to continue from.")] = 4,
    model: Model = DOMAIN.default_model,
    num: Num = 1,
    seed: Seed = 0,
    steps: Steps = None,
    given_scale: GivenScale = None,
    cache: Cache = "none",
    cache_opts: CacheOpts = None,
    mp4: Mp4 = False,
    out: Out = Path("samples/video-predict"),
) -> None:
    """Continue a clip from its first --given frames (VDT prediction)."""
    from polydit.video import commands

    overrides = _overrides(steps, given_scale, cache, cache_opts)
    records = commands.predict(
        _load(model), input, given, out, num=num, seed=seed, overrides=overrides, mp4=mp4
    )
    typer.echo(f"{len(records)} predictions of {input} in {out}")


@app.command("interpolate")
def interpolate(
    input: Input,
    model: Model = DOMAIN.default_model,
    num: Num = 1,
    seed: Seed = 0,
    steps: Steps = None,
    given_scale: GivenScale = None,
    cache: Cache = "none",
    cache_opts: CacheOpts = None,
    mp4: Mp4 = False,
    out: Out = Path("samples/video-interpolate"),
) -> None:
    """Fill in the frames between the first and last frame of a clip (VDT interpolation)."""
    from polydit.video import commands

    overrides = _overrides(steps, given_scale, cache, cache_opts)
    records = commands.interpolate(
        _load(model), input, out, num=num, seed=seed, overrides=overrides, mp4=mp4
    )
    typer.echo(f"{len(records)} interpolations of {input} in {out}")


@app.command("export")
def export(
    run: Annotated[Path, typer.Option(file_okay=False, help="A training run directory.")],
    out: Out,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Default sampling steps to store; default: the run's.")
    ] = None,
    given_scale: Annotated[
        float | None,
        typer.Option(min=0.0, help="Default given-frame guidance to store; default: the run's."),
    ] = None,
) -> None:
    """Save the EMA weights of a run's newest checkpoint as a pretrained directory."""
    from polydit.video.train import export_checkpoint

    saved = export_checkpoint(run, out, sampling_steps=steps, given_scale=given_scale)
    typer.echo(f"saved {saved}")


def main() -> None:
    run_cli(app)
