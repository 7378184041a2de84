"""The contract between the CLI factory and a domain package: `Domain`, its flags and options.

A domain names its Pipeline class and its training recipes as ``"module:attribute"`` strings,
imported on use, so the module defining the Domain imports no torch and ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.hub import shipped_models
from polydit.core.lazy import import_object

if TYPE_CHECKING:
    from polydit.core.train import Recipe, RunOptions, TrainSpec

_FLAG_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
FLAG_TYPES = (str, int, float, bool, Path)


@dataclass(frozen=True)
class Flag:
    """A domain flag ``--<name>``; its value arrives in ``opts.extra[key]`` (dashes → underscores).

    type: str, int, float, bool (a ``--name/--no-name`` switch) or Path.
    choices: the accepted values of a str flag. min: the smallest value of an int/float flag.
    repeat: the flag may be given several times; its value is the list of values in order
    (None when it is absent; not for bool flags).
    """

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] | None = None
    min: float | None = None
    repeat: bool = False

    def __post_init__(self) -> None:
        if not _FLAG_NAME.fullmatch(self.name):
            raise ValueError(f"flag name {self.name!r}: expected lower-case words joined by '-'")
        if self.type not in FLAG_TYPES:
            raise ValueError(f"flag --{self.name}: type must be one of str, int, float, bool, Path")
        if self.choices is not None and self.type is not str:
            raise ValueError(f"flag --{self.name}: choices need type=str")
        if self.min is not None and self.type not in (int, float):
            raise ValueError(f"flag --{self.name}: min needs type=int or float")
        if self.repeat and (self.type is bool or self.default is not None):
            raise ValueError(
                f"flag --{self.name}: a repeated flag needs a non-bool type, no default"
            )
        if self.type is bool and not isinstance(self.default, bool):
            raise ValueError(f"flag --{self.name}: a bool flag needs a bool default")

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")


#: the categorical samplers' settings (polydit.core.process.categorical), for the domains whose
#: models have discrete states; GenerationOptions.generation() passes whichever was given
CATEGORICAL_FLAGS = (
    Flag(
        "eta",
        float,
        None,
        "DeFoG stochasticity η ≥ 0 (--sampler dfm); default: the model's.",
        min=0.0,
    ),
    Flag(
        "omega",
        float,
        None,
        "DeFoG target guidance ω ≥ 0 (--sampler dfm); default: the model's.",
        min=0.0,
    ),
    Flag(
        "grid",
        str,
        None,
        "Time grid (DeFoG's time distortion): uniform, polydec (finer steps near the data), "
        "polyinc (finer near the noise), cos (both ends); default: the model's.",
    ),
)


@dataclass(frozen=True)
class GalleryItem:
    """One file of a demo gallery: `file` (relative to the demo's output directory, or absolute),
    what it shows, and the domain CLI command that reproduces it."""

    file: Path
    caption: str
    command: str


@dataclass(frozen=True)
class GenerationOptions:
    """The options `sample` and `eval` share (and a domain's own sampling verbs may reuse)."""

    model: Path  # the resolved pretrained directory
    seed: int
    steps: int | None  # None: the model's default
    sampler: str | None  # a name of polydit.core.sampling.SAMPLER_NAMES; None: the model's
    cfg: float | None  # guidance scale; None: the model's default
    cfg_rescale: float | None  # guidance std rescaling φ; None: the model's default
    cache: str  # a name of polydit.core.accel.CACHE_NAMES
    cache_opts: dict[str, str]  # --cache-opts KEY=VALUE pairs for that cache
    device: str  # "cpu", "cuda" or "cuda:N"
    dtype: str  # "fp32" or "bf16" (--dtype auto already resolved)
    quiet: bool  # --quiet: no progress display
    compile: bool  # --compile: torch.compile the network (Pipeline.compile)
    extra: dict[str, Any]  # the domain's flags, by Flag.key

    def generation(self) -> dict[str, Any]:
        """The keyword arguments of ``Pipeline.generate`` these flags set: the sampler settings
        the user overrode (steps, sampler, cfg_scale, cfg_rescale and any CATEGORICAL_FLAGS),
        dtype, and cache and cache_opts where a cache was asked for."""
        given = {
            "steps": self.steps,
            "sampler": self.sampler,
            "cfg_scale": self.cfg,
            "cfg_rescale": self.cfg_rescale,
            **{f.key: self.extra.get(f.key) for f in CATEGORICAL_FLAGS},
        }
        cached = self.cache != "none" or self.cache_opts
        return {
            **{k: v for k, v in given.items() if v is not None},
            "dtype": self.dtype,
            **({"cache": self.cache, "cache_opts": dict(self.cache_opts)} if cached else {}),
        }


@dataclass(frozen=True)
class SampleOptions(GenerationOptions):
    """What one call of :meth:`Domain.sample` asks for: `num` samples, sample i seeded
    ``seed + i``; `first` is the index of this batch's first sample in the whole run (``sample``
    streams a run of any size in batches of :attr:`Domain.sample_batch`: batch b gets
    ``first = b · sample_batch`` and ``seed = run seed + first``), so file names count from it."""

    num: int
    first: int = 0


@dataclass(frozen=True)
class EvalOptions(GenerationOptions):
    """What `<domain> eval` asks for; `num` None = the domain's evaluation protocol; `report`:
    a directory for the domain's report figures (PNG), None = none (domains with ``reports``)."""

    num: int | None
    report: Path | None = None


@dataclass(frozen=True)
class TrainOptions:
    """What `<domain> train` asks for. `config` is the parsed ``--config`` JSON ({} without it),
    to lay over the domain's default spec with :meth:`~polydit.core.config.JsonConfig.merged`."""

    data: str | None  # a built-in dataset name or a path; None: the domain's default
    config: dict[str, Any]
    out: Path
    resume: bool
    steps: int | None  # None: the config's
    seed: int | None  # None: the config's
    device: str
    dtype: str | None  # None: the config's
    extra: dict[str, Any]
    init_from: Path | None = None  # --init-from: a pretrained directory whose weights start the run

    def run_options(self) -> RunOptions:
        """The run-folder options of :func:`polydit.core.train.fit`."""
        from polydit.core.train import RunOptions

        return RunOptions(
            out=self.out, resume=self.resume, init_from=self.init_from, device=self.device
        )


@dataclass(frozen=True)
class DataOptions:
    """What `<domain> data show` asks for; `out` None = print only, write no previews."""

    data: str | None
    num: int
    seed: int
    out: Path | None
    extra: dict[str, Any]


class Domain(ABC):
    """One instance per domain package (e.g. ``polydit.image.cli:DOMAIN``).

    A domain sets its `name` (its distribution `package` is ``polydit-<name>`` unless set),
    `generator` (its Pipeline class) and `recipes` (its training recipes by name; by default
    ``polydit.<name>.train:RECIPE``), and writes `sample`, `evaluate`, `data_show` and `demo`; `load`, `train`
    and `info` work from those attributes and are overridden only where a domain does more.
    A domain whose models cannot use the training-free caches sets ``caches = False``: its
    `sample` and `eval` then offer no --cache / --cache-opts. A domain whose `evaluate` draws
    report figures into ``opts.report`` (when set) sets ``reports = True``: `eval --report DIR`.
    `bf16_speeds_up`: auto picks bf16 on native-bf16 hardware only where it measured faster for
    this domain; a domain whose sampling is slower in bf16 autocast even there sets it False and
    its generation verbs keep fp32 under ``--dtype auto`` (their default; an explicit
    ``--dtype bf16`` is still obeyed).
    `sample` streams: the core asks :meth:`sample` for at most ``sample_batch`` samples at a time
    (memory stays flat in --num) and a sample must not depend on the batch it is drawn in.
    The module defining it must stay light: import torch and the domain's models inside the
    methods, so that ``--help`` and ``polydit list`` stay fast.
    """

    name: str  # "image"
    default_model: str  # a subdirectory name of pretrained_root
    generator: str = ""  # "polydit.image.pipeline:ImageGenerator": the Pipeline class `load` uses
    sample_options: Sequence[Flag] = ()
    eval_options: Sequence[Flag] = ()
    train_options: Sequence[Flag] = ()
    data_options: Sequence[Flag] = ()
    caches: bool = True
    reports: bool = False
    bf16_speeds_up: bool = True
    sample_batch: int = 256

    @functools.cached_property
    def pretrained_root(self) -> Path:
        """Each subdirectory is a shipped model: by default ``pretrained/`` beside the module
        that defines the domain (``polydit/<name>/pretrained``); a subclass or instance may
        set it."""
        return Path(inspect.getfile(type(self))).resolve().parent / "pretrained"

    @property
    def recipes(self) -> Mapping[str, str]:
        """Recipe name → ``"module:RECIPE"`` (a :class:`polydit.core.train.Recipe`), the first
        the default: ``{name: "polydit.<name>.train:RECIPE"}`` unless a subclass sets it."""
        return {self.name: f"polydit.{self.name}.train:RECIPE"}

    @property
    def package(self) -> str:
        """The distribution: ``polydit-<name>`` ("polydit-image") unless a subclass sets it."""
        return f"polydit-{self.name}"

    def shipped_models(self) -> list[str]:
        """Names of the shipped models: subdirectories of `pretrained_root` with a config."""
        return shipped_models(Path(self.pretrained_root))

    def select_model(self, model: Path, extra: dict[str, Any]) -> Path:
        """The pretrained directory that `sample`/`eval` load: ``--model`` unless a domain flag
        in `extra` picks another (e.g. ``--kind crystal`` with the default molecule model)."""
        return model

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        """The domain's generator, loaded from a pretrained directory (`generator`'s
        ``from_pretrained``; dtype applies when sampling)."""
        return import_object(self.generator).from_pretrained(model_dir, device=device)

    # --- training -------------------------------------------------------------------------
    def recipe(self, name: str) -> Recipe:
        """The training recipe called `name` (a key of `recipes`)."""
        if name not in self.recipes:
            from polydit.core.errors import ConfigError

            known = ", ".join(self.recipes) or "none"
            raise ConfigError(f"{self.package} has no training recipe {name!r} (known: {known})")
        return import_object(self.recipes[name])

    def recipe_for(self, opts: TrainOptions) -> str:
        """Which recipe `train` runs for these options: the first of `recipes` by default."""
        return next(iter(self.recipes))

    def train_spec(self, recipe: Recipe, opts: TrainOptions) -> TrainSpec:
        """The run's spec: the recipe's defaults, ``--config`` laid over them, then --steps,
        --seed and --dtype. Override to apply a domain's train flags as well."""
        spec = recipe.spec().merged(opts.config, where="--config")
        return spec.overridden(steps=opts.steps, seed=opts.seed, dtype=opts.dtype)

    def train(self, opts: TrainOptions) -> Path:
        """Train with :func:`polydit.core.train.fit`; return the saved pretrained directory."""
        from polydit.core.train import fit

        recipe = self.recipe(self.recipe_for(opts))
        spec = self.train_spec(recipe, opts)
        data = recipe.data(spec, opts.data, opts.extra)
        for message in data.skipped:
            typer.echo(f"skipped: {message}", err=True)
        fitted = fit(recipe, spec, data, opts.run_options())
        seconds = fitted.result.wall_time
        typer.echo(f"trained {fitted.result.step} steps on {data.name} in {seconds:.0f}s")
        return fitted.model_dir

    def info(self, generator: Any) -> dict[str, Any]:
        """Facts about a loaded model: parameters, architecture, codec, process, sampling."""
        return {
            "parameters": sum(p.numel() for p in generator.model.parameters()),
            "architecture": generator.model.config.to_dict(),
            "codec": generator.codec_config(),
            "process": generator.process.config.to_dict(),
            "sampling": generator.sampling.to_dict(),
        }

    # --- what every domain writes ---------------------------------------------------------
    def sample_count(self, generator: Any, opts: SampleOptions) -> int:
        """How many samples a `sample` run writes: ``--num`` unless a domain flag sets it (e.g.
        image's ``--per-class``)."""
        return opts.num

    @abstractmethod
    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        """Write one batch, samples ``opts.first … opts.first + opts.num − 1`` of the run, into
        `out` (named from ``opts.first``; a summary picture such as grid.png from the batch with
        ``first == 0``); one record per sample:
        ``{"file": name relative to out, "seed": int, "conditioning": {...}}``."""

    @abstractmethod
    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        """The domain's metrics of `generator` (by name)."""

    @abstractmethod
    def data_show(self, opts: DataOptions) -> None:
        """Print (and with `opts.out`, write previews of) a dataset."""

    @abstractmethod
    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        """Write a few showcase files into `out` for `polydit demo`."""
