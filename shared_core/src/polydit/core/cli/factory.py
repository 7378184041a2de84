"""`make_cli`: the same verbs and flags for every domain package.

Verbs: ``train``, ``sample``, ``eval``, ``data show``, ``info``, ``export`` and, for domains whose
models take caches, ``train-router`` (E-DiT routers, :mod:`polydit.core.cli.router`). Domain flags
(`Domain.*_options`) are added to their verb and arrive in ``opts.extra``.
"""

import contextlib
import dataclasses
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from polydit.core import progress
from polydit.core.atomic import atomic_write_text
from polydit.core.cli.app import new_app
from polydit.core.cli.domain import (
    DataOptions,
    Domain,
    EvalOptions,
    GenerationOptions,
    SampleOptions,
    TrainOptions,
)
from polydit.core.cli.options import (
    MAX_SEED,
    Cache,
    CacheOpts,
    Cfg,
    CfgRescale,
    Compile,
    Config,
    Data,
    Device,
    GivenScale,
    Json,
    Num,
    Quiet,
    Run,
    Sampler,
    Seed,
    Steps,
    dtype_option,
    model_option,
)
from polydit.core.cli.output import (
    REPORT_FILE,
    SAMPLES_FILE,
    flatten,
    output_directory,
    table,
    to_json,
)
from polydit.core.cli.params import parse_cache_opts, with_flags
from polydit.core.cli.router import train_router_verb
from polydit.core.precision_choice import resolve_dtype


def make_cli(domain: Domain) -> typer.Typer:
    """The CLI of `domain`: run it with `run_cli(make_cli(DOMAIN))`."""
    for attribute in ("name", "package", "pretrained_root", "default_model"):
        if not hasattr(domain, attribute):
            raise TypeError(f"{type(domain).__name__} must set Domain.{attribute}")
    app = new_app(name=domain.package, help=f"{domain.package}: train, sample and evaluate.")
    app.command("train")(with_flags(_train(domain), list(domain.train_options)))
    app.command("sample")(with_flags(_sample(domain), list(domain.sample_options)))
    app.command("eval")(with_flags(_evaluate(domain), list(domain.eval_options)))
    data_app = new_app(help="Inspect datasets.")
    data_app.command("show")(with_flags(_show(domain), list(domain.data_options)))
    app.add_typer(data_app, name="data")
    app.command("info")(_info(domain))
    app.command("export")(_export(domain))
    if domain.caches:
        app.command("train-router")(train_router_verb(domain))
    return app


def with_generation(domain: Domain, verb: Callable[..., None]) -> Callable[..., None]:
    """`verb(common, ..., extra)` exposed with the options `sample` and `eval` share before its
    own: --model, --seed, --steps, --sampler, --cfg, --cache, --cache-opts, --device, --dtype
    (default auto, resolved to "fp32" or "bf16" by
    :func:`~polydit.core.precision_choice.resolve_dtype` with ``domain.bf16_speeds_up``),
    --quiet (the verb runs inside a :func:`polydit.core.progress.shown` display unless set).
    `common` holds them as the fields of :class:`GenerationOptions` but `extra` (model resolved
    through ``Domain.select_model`` with the verb's `extra` flags, cache options parsed); wrap
    the result in :func:`with_flags` to add domain flags (without --cache / --cache-opts where
    ``domain.caches`` is False). Annotations may be strings."""
    shared = {
        "model": (model_option(domain), domain.default_model),
        "seed": (Seed, 0),
        "steps": (Steps, None),
        "sampler": (Sampler, None),
        "cfg": (Cfg, None),
        "cfg_rescale": (CfgRescale, None),
        "cache": (Cache, "none"),
        "cache_opts": (CacheOpts, None),
        "device": (Device, "cpu"),
        "dtype": (dtype_option(domain.bf16_speeds_up), "auto"),
        "quiet": (Quiet, False),
        "compile": (Compile, False),
    }
    fixed = {} if domain.caches else {"cache": "none", "cache_opts": None}
    shared = {name: option for name, option in shared.items() if name not in fixed}
    own = [
        p for p in inspect.signature(verb, eval_str=True).parameters.values() if p.name != "common"
    ]
    parameters = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in shared.items()
    ] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]

    def command(**values: Any) -> None:
        common = fixed | {name: values.pop(name) for name in shared}
        common["model"] = domain.select_model(Path(common["model"]), values.get("extra", {}))
        common["cache_opts"] = parse_cache_opts(common["cache_opts"])
        common["dtype"] = resolve_dtype(
            common["dtype"], common["device"], bf16_speeds_up=domain.bf16_speeds_up
        )
        with progress.shown(not common["quiet"]):
            verb(common, **values)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = verb.__doc__
    return command


def loaded(domain: Domain, opts: GenerationOptions) -> Any:
    """The domain's generator for `opts`, compiled when ``--compile`` asks (a one-line warning
    where it cannot be: the run goes on uncompiled)."""
    generator = domain.load(opts.model, device=opts.device, dtype=opts.dtype)
    if opts.compile:
        from polydit.core.pipeline import Pipeline

        if not isinstance(generator, Pipeline):
            typer.echo("warning: --compile: not a DiT pipeline; running uncompiled", err=True)
        elif not generator.compile():
            typer.echo("warning: --compile: no C++ compiler found; running uncompiled", err=True)
    return generator


def _sample(domain: Domain) -> Callable[..., None]:
    def sample(
        common: dict[str, Any],
        num: Num = 8,
        out: Annotated[Path, typer.Option(file_okay=False, help="Output directory.")] = Path(
            "samples", domain.name
        ),
        *,
        extra: dict,
    ) -> None:
        """Generate samples into --out, with samples.json describing each one."""
        opts = SampleOptions(num=num, extra=extra, **common)
        started = time.perf_counter()
        generator = loaded(domain, opts)
        total = domain.sample_count(generator, opts)
        unit = getattr(generator, "progress_unit", None)
        if unit:
            progress.reserve(unit, total)
        with output_directory(out) as staging:
            records = []
            for first in range(0, total, domain.sample_batch):
                part = dataclasses.replace(
                    opts,
                    num=min(domain.sample_batch, total - first),
                    seed=opts.seed + first,
                    first=first,
                )
                records += domain.sample(generator, part, staging)
            records = [{**record, "dtype": opts.dtype} for record in records]  # as resolved
            atomic_write_text(staging / SAMPLES_FILE, to_json(records, indent=2) + "\n")
        seconds = time.perf_counter() - started
        typer.echo(f"{len(records)} samples from {opts.model} in {out} ({seconds:.1f}s)")

    return with_generation(domain, sample)


def _evaluate(domain: Domain) -> Callable[..., None]:
    def evaluate(
        common: dict[str, Any],
        num: Annotated[
            int | None,
            typer.Option(min=1, help="Samples to evaluate; default: the domain's protocol."),
        ] = None,
        json: Json = False,
        report: Annotated[
            Path | None,
            typer.Option(
                file_okay=False,
                help="Also draw the domain's report figures (PNG) and metrics.json into DIR.",
            ),
        ] = None,
        *,
        extra: dict,
    ) -> None:
        """Compute the domain's metrics; with --json the last stdout line is one JSON object.

        Also reports `eval_seconds` (wall time of the evaluation, model loading excluded),
        `sampling_seconds` (the part spent in `Pipeline.generate`, for pipeline models),
        `sampled_rows` with `first_chunk_rows` / `first_chunk_seconds` (the first chunk pays a
        --compile, so a steady rate leaves it out) and, with --cache, `cache_block_fraction`
        (block evaluations computed / uncached).
        """
        if report is not None and not domain.reports:
            raise typer.BadParameter(f"{domain.name} eval draws no report", param_hint="--report")
        generator = loaded(domain, GenerationOptions(extra=extra, **common))
        with contextlib.ExitStack() as stack:
            staging = None
            if report is not None:
                staging = stack.enter_context(output_directory(report, marker=REPORT_FILE))
            opts = EvalOptions(num=num, extra=extra, report=staging, **common)
            started = time.perf_counter()
            scores = domain.evaluate(generator, opts)
            metrics: dict[str, Any] = {name: float(value) for name, value in scores.items()}
            metrics["eval_seconds"] = time.perf_counter() - started
            metrics["dtype"] = opts.dtype  # what --dtype resolved to (auto: bf16 or fp32)
            if getattr(generator, "sampling_seconds", 0.0) > 0:
                metrics["sampling_seconds"] = generator.sampling_seconds
                first = getattr(generator, "first_chunk", None)
                if first is not None:  # with --compile it holds the compile
                    metrics["sampled_rows"] = generator.sampled_rows
                    metrics["first_chunk_rows"], metrics["first_chunk_seconds"] = first
            usage = getattr(generator, "cache_usage", None)
            if opts.cache != "none" and usage is not None and usage.total:
                metrics["cache_block_fraction"] = usage.fraction
            if staging is not None:
                atomic_write_text(staging / REPORT_FILE, to_json(metrics, indent=2) + "\n")
        typer.echo(to_json(metrics) if json else table(flatten(metrics)))

    return with_generation(domain, evaluate)


def _train(domain: Domain) -> Callable[..., None]:
    init_help = (
        "Warm start: a shipped model or pretrained directory (same codec and architecture) "
        "whose weights start the run (fresh optimiser; a checkpoint found by --resume wins)."
    )
    InitFrom = model_option(domain, optional=True, help=init_help)

    def train(
        data: Data = None,
        config: Config = None,
        out: Annotated[Path, typer.Option(file_okay=False, help="Run folder.")] = Path(
            "runs", domain.name
        ),
        resume: Annotated[
            bool, typer.Option(help="Continue from the last checkpoint in --out.")
        ] = False,
        steps: Annotated[
            int | None, typer.Option(min=1, help="Optimizer steps; default: the config's.")
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option(min=0, max=MAX_SEED, help="Run seed; default: the config's (0)."),
        ] = None,
        device: Device = "cpu",
        dtype: Annotated[
            Literal["fp32", "bf16", "auto"] | None,
            typer.Option(
                help="Autocast precision (fp32 master weights); auto: bf16 where native; "
                "default: the config's (fp32)."
            ),
        ] = None,
        init_from: InitFrom = None,
        *,
        extra: dict,
    ) -> None:
        """Train a model; the run folder keeps run.json, checkpoints and the saved model."""
        opts = TrainOptions(
            data=data,
            config=dict(config or {}),
            out=out,
            resume=resume,
            steps=steps,
            seed=seed,
            device=device,
            dtype=None if dtype is None else resolve_dtype(dtype, device),
            extra=extra,
            init_from=None if init_from is None else Path(init_from),
        )
        typer.echo(f"saved {domain.train(opts)}")

    return train


def _show(domain: Domain) -> Callable[..., None]:
    def show(
        data: Data = None,
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

    return show


def _info(domain: Domain) -> Callable[..., None]:
    def info(model: model_option(domain) = domain.default_model, json: Json = False) -> None:  # type: ignore[valid-type]
        """Describe a model: architecture, parameters, defaults, training."""
        details = {
            "model": str(model),
            **domain.info(domain.load(Path(model), device="cpu", dtype="fp32")),
        }
        typer.echo(to_json(details) if json else table(flatten(details)))

    return info


def _export(domain: Domain) -> Callable[..., None]:
    def export(
        run: Run,
        out: Annotated[Path, typer.Option(file_okay=False, help="The pretrained directory.")],
        step: Annotated[
            int | None, typer.Option(min=1, help="Checkpoint step; default: the newest.")
        ] = None,
        steps: Annotated[
            int | None, typer.Option(min=1, help="Sampling steps to store; default: the run's.")
        ] = None,
        sampler: Sampler = None,
        cfg: Cfg = None,
        cfg_rescale: CfgRescale = None,
        given_scale: GivenScale = None,
    ) -> None:
        """Save the EMA weights of a run's checkpoint as a pretrained directory, optionally with
        other stored sampling defaults (e.g. a guidance scale chosen after training)."""
        from polydit.core.train import export as export_run
        from polydit.core.train import read_run

        recipe = domain.recipe(read_run(run)["recipe"])
        saved = export_run(
            recipe.pipeline,
            run,
            out,
            step,
            steps=steps,
            sampler=sampler,
            cfg_scale=cfg,
            cfg_rescale=cfg_rescale,
            given_scale=given_scale,
        )
        typer.echo(f"saved {saved}")

    return export
