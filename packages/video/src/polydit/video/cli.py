"""`polydit-video`: the core CLI factory's verbs plus `predict` and `interpolate`.

Light on purpose: torch and the models are imported inside the commands, so ``--help`` is fast.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.core import cli as core
from polydit.core.cli.options import GivenScale, Num, Out
from polydit.video import DEFAULT_MODEL

MP4 = core.Flag("mp4", bool, False, "Also write an MP4 per clip.")
GIVEN = core.Flag(
    "given", int, 4, "Frames given for prediction (the first ones of the clip).", min=1
)


class VideoDomain(core.Domain):
    name = "video"
    default_model = DEFAULT_MODEL
    generator = "polydit.video.pipeline:VideoGenerator"
    reports = True
    sample_options = (
        MP4,
        core.Flag("digit", int, -1, "Class-conditional models: the digit to sample (-1: any)."),
        core.Flag(
            "prompt",
            str,
            None,
            "Text models: a caption, e.g. 'a 3 moving up'. Repeat it for one longer clip whose "
            "consecutive time spans follow the prompts in turn (DiTCtrl; see --frames).",
            repeat=True,
        ),
        core.Flag(
            "frames",
            int,
            None,
            "Frames of a multi-prompt clip (default: the model's frames per prompt).",
            min=2,
        ),
    )
    eval_options = (
        GIVEN,
        core.Flag(
            "unconditional", int, 64, "Unconditional clips for the Fréchet/consistency metrics."
        ),
        core.Flag(
            "given-scale",
            float,
            None,
            "Guidance on the given frames (1: none); default: the model's.",
        ),
        core.Flag(
            "adherence",
            bool,
            False,
            "Also prompt adherence (named digit, motion direction) on a model without text, "
            "whose unconditional clips are the chance reference (always on for text models).",
        ),
    )
    data_options = (
        core.Flag("split", str, "train", "Moving-digits split.", choices=("train", "test")),
        core.Flag("frames", int, 8, "Frames per clip."),
        core.Flag("size", int, 24, "Frame size in pixels."),
    )

    def sample(self, generator: Any, opts: core.SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.video import commands

        return commands.sample(generator, opts, out)

    def evaluate(self, generator: Any, opts: core.EvalOptions) -> dict[str, float]:
        from polydit.video import commands

        return commands.evaluate(generator, opts)

    def data_show(self, opts: core.DataOptions) -> None:
        from polydit.video import commands

        commands.data_show(opts)

    def info(self, generator: Any) -> dict[str, Any]:
        """The default facts plus the number of tokens of a clip."""
        return {**super().info(generator), "tokens": generator.codec.num_tokens}

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[core.GalleryItem]:
        from polydit.video import commands

        return commands.demo(generator, out, seed=seed)


DOMAIN = VideoDomain()
app = core.make_cli(DOMAIN)

Input = Annotated[
    Path, typer.Option("--input", help="A GIF/MP4 clip (resampled to the model's frames/size).")
]


def task_verb(task: str, doc: str) -> Callable[..., None]:
    """The verb that runs `task` ("predict" or "interpolate") on a user's clip."""

    def verb(
        common: dict[str, Any],
        input: Input,
        num: Num = 1,
        given_scale: GivenScale = None,
        out: Out = Path(f"samples/video-{task}"),
        *,
        extra: dict,
    ) -> None:
        from polydit.video import commands

        opts = core.GenerationOptions(extra=extra, **common)
        generator = DOMAIN.load(opts.model, device=opts.device, dtype=opts.dtype)
        overrides = {**opts.generation(), "given_scale": given_scale}
        records = commands.run_task(
            generator, task, input, out, given=extra.get("given"), num=num, seed=opts.seed,
            overrides=overrides, mp4=extra["mp4"],
        )  # fmt: skip
        typer.echo(f"{len(records)} {commands.TASK_RESULTS[task]} of {input} in {out}")

    verb.__doc__ = doc
    return verb


predict = task_verb("predict", "Continue a clip from its first --given frames (VDT prediction).")
interpolate = task_verb(
    "interpolate",
    "Fill in the frames between the first and last frame of a clip (VDT interpolation).",
)
app.command("predict")(core.with_flags(core.with_generation(DOMAIN, predict), [GIVEN, MP4]))
app.command("interpolate")(core.with_flags(core.with_generation(DOMAIN, interpolate), [MP4]))


def main() -> None:
    core.run_cli(app)
