"""`make_cli`: the same verbs and flags for every domain package.

Verbs: ``train``, ``sample``, ``eval``, ``data show``, ``info``. Domain flags (`Domain.*_options`)
are added to their verb and arrive in ``opts.extra``.
"""

import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from polydit.core.atomic import atomic_write_text
from polydit.core.cli.domain import (
    DataOptions,
    Domain,
    EvalOptions,
    SampleOptions,
    TrainOptions,
)
from polydit.core.cli.output import flatten, table, to_json
from polydit.core.cli.params import (
    check_cache_opts,
    model_resolver,
    named,
    parse_cache_opts,
    parse_device,
    read_json_config,
    with_flags,
)
from polydit.core.cli.policy import new_app

Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same output.")]
Steps = Annotated[int | None, typer.Option(min=1, help="Sampling steps; default: the model's.")]
Sampler = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        callback=named("polydit.core.sampling", "SAMPLER_NAMES"),
        help="Sampler, e.g. euler (a wrong name lists them all); default: the model's.",
    ),
]
Cfg = Annotated[
    float | None,
    typer.Option(min=0.0, help="Classifier-free guidance scale; default: the model's."),
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
Dtype = Annotated[Literal["fp32", "bf16"], typer.Option(help="Compute precision.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def make_cli(domain: Domain) -> typer.Typer:
    """The CLI of `domain`: run it with `run_cli(make_cli(DOMAIN))`."""
    for attribute in ("name", "package", "pretrained_root", "default_model"):
        if not hasattr(domain, attribute):
            raise TypeError(f"{type(domain).__name__} must set Domain.{attribute}")
    shipped = ", ".join(domain.shipped_models()) or "none installed"
    Model = Annotated[
        str,
        typer.Option(
            metavar="NAME|DIR",
            callback=model_resolver(domain),
            help=f"A shipped model ({shipped}) or a pretrained directory.",
        ),
    ]
    InitFrom = Annotated[
        str | None,
        typer.Option(
            metavar="NAME|DIR",
            callback=model_resolver(domain, optional=True),
            help="Warm start: a shipped model or pretrained directory (same architecture) whose "
            "weights start the run (fresh optimiser; a checkpoint found by --resume wins).",
        ),
    ]
    app = new_app(name=domain.package, help=f"{domain.package}: train, sample and evaluate.")

    def sample(
        model: Model = domain.default_model,
        num: Annotated[int, typer.Option(min=1, help="Number of samples.")] = 8,
        seed: Seed = 0,
        steps: Steps = None,
        sampler: Sampler = None,
        cfg: Cfg = None,
        cache: Cache = "none",
        cache_opts: CacheOpts = None,
        device: Device = "cpu",
        dtype: Dtype = "fp32",
        out: Annotated[Path, typer.Option(file_okay=False, help="Output directory.")] = Path(
            "samples", domain.name
        ),
        *,
        extra: dict,
    ) -> None:
        """Generate samples into --out, with samples.json describing each one."""
        opts = SampleOptions(
            model=domain.select_model(Path(model), extra),
            num=num,
            seed=seed,
            steps=steps,
            sampler=sampler,
            cfg=cfg,
            cache=cache,
            cache_opts=parse_cache_opts(cache_opts),
            device=device,
            dtype=dtype,
            extra=extra,
        )
        started = time.perf_counter()
        generator = domain.load(opts.model, device=device, dtype=dtype)
        out.mkdir(parents=True, exist_ok=True)
        records = domain.sample(generator, opts, out)
        atomic_write_text(out / "samples.json", to_json(records, indent=2) + "\n")
        seconds = time.perf_counter() - started
        typer.echo(f"{len(records)} samples from {opts.model} in {out} ({seconds:.1f}s)")

    def evaluate(
        model: Model = domain.default_model,
        num: Annotated[
            int | None,
            typer.Option(min=1, help="Samples to evaluate; default: the domain's protocol."),
        ] = None,
        seed: Seed = 0,
        steps: Steps = None,
        sampler: Sampler = None,
        cfg: Cfg = None,
        cache: Cache = "none",
        cache_opts: CacheOpts = None,
        device: Device = "cpu",
        dtype: Dtype = "fp32",
        json: Json = False,
        *,
        extra: dict,
    ) -> None:
        """Compute the domain's metrics; with --json the last stdout line is one JSON object.

        Also reports `eval_seconds` (wall time of the evaluation, model loading excluded),
        `sampling_seconds` (the part spent in `Pipeline.generate`, for pipeline models) and,
        with --cache, `cache_block_fraction` (block evaluations computed / uncached).
        """
        opts = EvalOptions(
            model=domain.select_model(Path(model), extra),
            num=num,
            seed=seed,
            steps=steps,
            sampler=sampler,
            cfg=cfg,
            cache=cache,
            cache_opts=parse_cache_opts(cache_opts),
            device=device,
            dtype=dtype,
            extra=extra,
        )
        generator = domain.load(opts.model, device=device, dtype=dtype)
        started = time.perf_counter()
        metrics = {name: float(value) for name, value in domain.evaluate(generator, opts).items()}
        metrics["eval_seconds"] = time.perf_counter() - started
        if getattr(generator, "sampling_seconds", 0.0) > 0:
            metrics["sampling_seconds"] = generator.sampling_seconds
        usage = getattr(generator, "cache_usage", None)
        if cache != "none" and usage is not None and usage.total:
            metrics["cache_block_fraction"] = usage.fraction
        typer.echo(to_json(metrics) if json else table(flatten(metrics)))

    def train(
        data: Annotated[
            str | None, typer.Option(help="Built-in dataset name or path; default: the domain's.")
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option(
                exists=True,
                dir_okay=False,
                callback=read_json_config,
                help="JSON file of training/model settings, laid over the domain's default recipe "
                "(a nested object changes only the fields it names).",
            ),
        ] = None,
        out: Annotated[Path, typer.Option(file_okay=False, help="Run directory.")] = Path(
            "runs", domain.name
        ),
        resume: Annotated[
            bool, typer.Option(help="Continue from the last checkpoint in --out.")
        ] = False,
        steps: Annotated[
            int | None, typer.Option(min=1, help="Optimizer steps; default: the config's.")
        ] = None,
        seed: Seed = 0,
        device: Device = "cpu",
        dtype: Dtype = "fp32",
        init_from: InitFrom = None,
        *,
        extra: dict,
    ) -> None:
        """Train a model and save it as a pretrained directory."""
        opts = TrainOptions(
            data=data,
            config=dict(config or {}),
            out=out,
            resume=resume,
            steps=steps,
            seed=seed,
            device=device,
            dtype=dtype,
            extra=extra,
            init_from=None if init_from is None else Path(init_from),
        )
        typer.echo(f"saved {domain.train(opts)}")

    def show(
        data: Annotated[
            str | None, typer.Option(help="Built-in dataset name or path; default: the domain's.")
        ] = None,
        num: Annotated[int, typer.Option(min=1, help="Number of examples.")] = 8,
        seed: Seed = 0,
        out: Annotated[
            Path | None, typer.Option(file_okay=False, help="Also write previews here.")
        ] = None,
        *,
        extra: dict,
    ) -> None:
        """Describe a dataset and print (or write) a few examples."""
        domain.data_show(DataOptions(data=data, num=num, seed=seed, out=out, extra=extra))

    def info(model: Model = domain.default_model, json: Json = False) -> None:
        """Describe a model: architecture, parameters, defaults, training."""
        details = {
            "model": str(model),
            **domain.info(domain.load(Path(model), device="cpu", dtype="fp32")),
        }
        typer.echo(to_json(details) if json else table(flatten(details)))

    app.command("train")(with_flags(train, list(domain.train_options)))
    app.command("sample")(with_flags(sample, list(domain.sample_options)))
    app.command("eval")(with_flags(evaluate, list(domain.eval_options)))
    data_app = new_app(help="Inspect datasets.")
    data_app.command("show")(with_flags(show, list(domain.data_options)))
    app.add_typer(data_app, name="data")
    app.command("info")(info)
    return app
