"""`polydit-audio`: the core CLI factory's verbs plus `inpaint`, and the audio flags (--label,
--voice for sample; --skip-bad for train and data; --split for data).

``sample`` writes DIR/sample_0000.wav … (16-bit PCM at the model's rate) and samples.json;
``eval --json`` prints accuracy, FD (and its real-vs-real floor), KL and IS under the shipped
classifier vs the test split (:mod:`polydit.audio.evaluate`); ``inpaint --input x.wav --start
0.3 --end 0.6`` fills a span of a user's clip. This module imports no torch at module level:
``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.audio import DEFAULT_MODEL
from polydit.core import cli as core
from polydit.core.cli.options import Num, Out

LABEL = core.Flag(
    "label", str, None, "Class name (e.g. seven) or id for every clip; omitted: uniform."
)
VOICE = core.Flag("voice", str, None, "Voice name or id (voice-conditioned models); omitted: any.")
SKIP_BAD = core.Flag("skip-bad", bool, False, "Skip unreadable audio files and report them.")


class AudioDomain(core.Domain):
    name = "audio"
    default_model = DEFAULT_MODEL
    generator = "polydit.audio.pipeline:AudioGenerator"
    sample_options = (LABEL, VOICE)
    eval_options = (
        core.Flag(
            "inpaint",
            bool,
            False,
            "Score inpainting of 0.3–0.6 s of test clips (STFT distance vs silence and "
            "crossfade) instead of generation.",
        ),
    )
    train_options = (SKIP_BAD,)
    data_options = (
        core.Flag("split", str, "train", "Which split of a built-in set.", ("train", "test")),
        SKIP_BAD,
    )

    def sample(self, generator: Any, opts: core.SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.audio import commands

        return commands.sample(generator, opts, out)

    def evaluate(self, generator: Any, opts: core.EvalOptions) -> dict[str, float]:
        from polydit.audio import evaluate

        if opts.extra.get("inpaint"):
            num = opts.num or evaluate.INPAINT_NUM
            return evaluate.evaluate_inpainting(generator, num, opts.seed, **opts.generation())
        num = opts.num or evaluate.EVAL_NUM
        return evaluate.evaluate(generator, num, opts.seed, **opts.generation())

    def data_show(self, opts: core.DataOptions) -> None:
        from polydit.audio import commands

        commands.data_show(opts)

    def info(self, generator: Any) -> dict[str, Any]:
        """The default facts plus the clip format and the conditioning vocabularies."""
        codec = generator.codec
        return {
            **super().info(generator),
            "sample_rate": codec.sample_rate,
            "seconds": codec.num_samples / codec.sample_rate,
            "tokens": codec.num_tokens,
            "classes": ", ".join(codec.class_names),
            "voices": len(codec.voice_names),
        }

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[core.GalleryItem]:
        from polydit.audio import commands

        return commands.demo(generator, out, seed=seed)


DOMAIN = AudioDomain()
app = core.make_cli(DOMAIN)

Input = Annotated[
    Path,
    typer.Option(
        "--input", dir_okay=False, help="A WAV/FLAC clip (resampled and cropped to the model's)."
    ),
]
Seconds = Annotated[float, typer.Option(min=0.0, help="Seconds into the clip.")]


def inpaint(
    common: dict[str, Any],
    input: Input,
    start: Seconds,
    end: Seconds,
    num: Num = 1,
    out: Out = Path("samples/audio-inpaint"),
    *,
    extra: dict,
) -> None:
    """Regenerate seconds [--start, --end) of a clip, keeping the rest bit for bit."""
    from polydit.audio import commands
    from polydit.core.atomic import atomic_write_text
    from polydit.core.cli.output import to_json

    opts = core.GenerationOptions(extra=extra, **common)
    generator = DOMAIN.load(opts.model, device=opts.device, dtype=opts.dtype)
    with core.output_directory(out) as staging:  # whole or not at all
        records = commands.inpaint(generator, opts, input, start, end, num, staging)
        atomic_write_text(staging / core.SAMPLES_FILE, to_json(records, indent=2) + "\n")
    typer.echo(f"{len(records)} inpainted clips of {input} in {out}")


app.command("inpaint")(core.with_flags(core.with_generation(DOMAIN, inpaint), [LABEL]))


def main() -> None:
    core.run_cli(app)


if __name__ == "__main__":
    main()
