"""The typer option types every polydit verb shares, for a domain's own commands too.

    @app.command("predict")
    def predict(model: ModelOption = DOMAIN.default_model, seed: Seed = 0, out: Out = ...): ...

`model_option(domain)` is the ``--model NAME|DIR`` type (a shipped model name or a directory,
resolved to the directory); `dtype_option(bf16_speeds_up)` is ``--dtype``, its help saying
what auto picks for the domain. Names that live in torch-importing modules (samplers, caches) are
checked only when a value is given, so ``--help`` imports no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from polydit.core.arguments import MAX_SEED
from polydit.core.cli.params import (
    check_cache_opts,
    model_resolver,
    named,
    parse_device,
    read_json_config,
)

if TYPE_CHECKING:
    from polydit.core.cli.domain import Domain

Seed = Annotated[
    int,
    typer.Option(min=0, max=MAX_SEED, help="Random seed; the same seed gives the same output."),
]
Num = Annotated[int, typer.Option(min=1, help="Number of samples.")]
Steps = Annotated[int | None, typer.Option(min=1, help="Sampling steps; default: the model's.")]
Sampler = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        callback=named("polydit.core.pipeline", "SAMPLER_CHOICES"),
        help="Sampler, e.g. euler, or ancestral for a categorical model (a wrong name lists "
        "them all); default: the model's.",
    ),
]
Cfg = Annotated[
    float | None,
    typer.Option(min=0.0, help="Classifier-free guidance scale; default: the model's."),
]
CfgRescale = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="Std rescaling of guidance, 0 (off) to 1; default: the model's."
    ),
]
GivenScale = Annotated[
    float | None,
    typer.Option(min=0.0, help="Guidance on the given tokens (1: none); default: the model's."),
]
Cache = Annotated[
    str,
    typer.Option(
        metavar="NAME",
        callback=named("polydit.core.accel", "CACHE_NAMES"),
        help="Training-free accelerator (a wrong name lists them all).",
    ),
]
CacheOpts = Annotated[
    list[str] | None,
    typer.Option(
        "--cache-opts",
        metavar="KEY=VALUE",
        callback=check_cache_opts,
        help="An option of the --cache accelerator, e.g. interval=3 (repeatable).",
    ),
]
Device = Annotated[str, typer.Option(callback=parse_device, help="cpu, cuda or cuda:N.")]
Quiet = Annotated[
    bool, typer.Option("--quiet", help="No progress bars (they are drawn only on a terminal).")
]
Compile = Annotated[
    bool,
    typer.Option(
        "--compile/--no-compile",
        help="torch.compile the network (needs a C++ compiler on the CPU; pays off for small "
        "models at small batches).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
Out = Annotated[Path, typer.Option(file_okay=False, help="Output directory.")]
Data = Annotated[
    str | None, typer.Option(help="Built-in dataset name or path; default: the domain's.")
]
Config = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        callback=read_json_config,
        help="JSON file of training/model settings, laid over the domain's default recipe "
        "(a nested object changes only the fields it names).",
    ),
]
Run = Annotated[Path, typer.Option(exists=True, file_okay=False, help="A training run folder.")]


def model_option(domain: Domain, *, optional: bool = False, help: str | None = None) -> Any:
    """The ``--model NAME|DIR`` option type of `domain` (with `optional`, None passes through:
    ``--init-from``)."""
    shipped = ", ".join(domain.shipped_models()) or "none installed"
    kind: Any = str | None if optional else str
    return Annotated[
        kind,
        typer.Option(
            metavar="NAME|DIR",
            callback=model_resolver(domain, optional=optional),
            help=help or f"A shipped model ({shipped}) or a pretrained directory.",
        ),
    ]


def dtype_option(bf16_speeds_up: bool = True) -> Any:
    """The ``--dtype fp32|bf16|auto`` option type; its help says what auto picks for a domain
    with :attr:`Domain.bf16_speeds_up` = `bf16_speeds_up`."""
    auto = (
        "bf16 where the CPU or GPU computes it natively, else fp32"
        if bf16_speeds_up
        else "fp32 (this domain samples faster in fp32, even where bf16 is native)"
    )
    return Annotated[
        Literal["fp32", "bf16", "auto"],
        typer.Option(
            help=f"Compute precision (autocast over fp32 weights); auto: {auto}. samples.json "
            "and the eval JSON record the precision that ran; fp32 reproduces the quoted numbers."
        ),
    ]
