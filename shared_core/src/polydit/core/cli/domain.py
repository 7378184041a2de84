"""The contract between the CLI factory and a domain package: `Domain`, its flags and options."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from polydit.core.hub import CONFIG_FILE

T = TypeVar("T")

_FLAG_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
FLAG_TYPES = (str, int, float, bool, Path)


@dataclass(frozen=True)
class Flag:
    """A domain flag ``--<name>``; its value arrives in ``opts.extra[key]`` (dashes → underscores).

    type: str, int, float, bool (a ``--name/--no-name`` switch) or Path.
    choices: the accepted values of a str flag.
    """

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not _FLAG_NAME.fullmatch(self.name):
            raise ValueError(f"flag name {self.name!r}: expected lower-case words joined by '-'")
        if self.type not in FLAG_TYPES:
            raise ValueError(f"flag --{self.name}: type must be one of str, int, float, bool, Path")
        if self.choices is not None and self.type is not str:
            raise ValueError(f"flag --{self.name}: choices need type=str")
        if self.type is bool and not isinstance(self.default, bool):
            raise ValueError(f"flag --{self.name}: a bool flag needs a bool default")

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class GalleryItem:
    """One file of a demo gallery: `file` (relative to the demo's output directory, or absolute),
    what it shows, and the domain CLI command that reproduces it."""

    file: Path
    caption: str
    command: str


@dataclass(frozen=True)
class _GenerationOptions:
    model: Path  # the resolved pretrained directory
    seed: int
    steps: int | None  # None: the model's default
    sampler: str | None  # a name of polydit.core.sampling.SAMPLER_NAMES; None: the model's
    cfg: float | None  # guidance scale; None: the model's default
    cache: str  # a name of polydit.core.accel.CACHE_NAMES
    cache_opts: dict[str, str]  # --cache-opts KEY=VALUE pairs for that cache
    device: str  # "cpu", "cuda" or "cuda:N"
    dtype: str  # "fp32" or "bf16"
    extra: dict[str, Any]  # the domain's flags, by Flag.key

    def generation(self) -> dict[str, Any]:
        """The keyword arguments of ``Pipeline.generate`` these flags set: the sampler settings
        the user overrode (steps, sampler, cfg_scale), dtype, cache and cache_opts."""
        given = {"steps": self.steps, "sampler": self.sampler, "cfg_scale": self.cfg}
        return {
            **{k: v for k, v in given.items() if v is not None},
            "dtype": self.dtype,
            "cache": self.cache,
            "cache_opts": dict(self.cache_opts),
        }


@dataclass(frozen=True)
class SampleOptions(_GenerationOptions):
    """What `<domain> sample` asks for: `num` samples, sample i seeded deterministically."""

    num: int


@dataclass(frozen=True)
class EvalOptions(_GenerationOptions):
    """What `<domain> eval` asks for; `num` None = the domain's evaluation protocol."""

    num: int | None


@dataclass(frozen=True)
class TrainOptions:
    """What `<domain> train` asks for. `config` is the parsed ``--config`` JSON ({} without it),
    to lay over the domain's default spec with :meth:`~polydit.core.config.JsonConfig.merged`."""

    data: str | None  # a built-in dataset name or a path; None: the domain's default
    config: dict[str, Any]
    out: Path
    resume: bool
    steps: int | None  # None: the config's
    seed: int
    device: str
    dtype: str
    extra: dict[str, Any]
    init_from: Path | None = None  # --init-from: a pretrained directory whose weights start the run

    def apply_to(self, train: T) -> T:
        """`train` (a frozen TrainConfig) with --dtype and, when given, --steps."""
        changes: dict[str, Any] = {"dtype": self.dtype}
        if self.steps is not None:
            changes["steps"] = self.steps
        return replace(train, **changes)


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

    The module defining it must stay light: import torch and the domain's models inside the
    methods, so that ``--help`` and ``polydit list`` stay fast.
    """

    name: str  # "image"
    package: str  # the distribution, "polydit-image"
    pretrained_root: Path  # each subdirectory is a shipped model
    default_model: str  # a subdirectory name of pretrained_root
    sample_options: Sequence[Flag] = ()
    eval_options: Sequence[Flag] = ()
    train_options: Sequence[Flag] = ()
    data_options: Sequence[Flag] = ()

    def shipped_models(self) -> list[str]:
        """Names of the shipped models: subdirectories of `pretrained_root` with a config."""
        root = Path(self.pretrained_root)
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / CONFIG_FILE).is_file())

    def select_model(self, model: Path, extra: dict[str, Any]) -> Path:
        """The pretrained directory that `sample`/`eval` load: ``--model`` unless a domain flag
        in `extra` picks another (e.g. ``--kind crystal`` with the default molecule model)."""
        return model

    @abstractmethod
    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        """The domain's generator, loaded from a pretrained directory."""

    @abstractmethod
    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        """Write `opts.num` samples into `out`; one record per sample:
        ``{"file": name relative to out, "seed": int, "conditioning": {...}}``."""

    @abstractmethod
    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        """The domain's metrics of `generator` (by name)."""

    @abstractmethod
    def train(self, opts: TrainOptions) -> Path:
        """Train and return the saved pretrained directory."""

    @abstractmethod
    def data_show(self, opts: DataOptions) -> None:
        """Print (and with `opts.out`, write previews of) a dataset."""

    @abstractmethod
    def info(self, generator: Any) -> dict[str, Any]:
        """Facts about a loaded model (architecture, parameters, defaults, training data...)."""

    @abstractmethod
    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        """Write a few showcase files into `out` for `polydit demo`."""
