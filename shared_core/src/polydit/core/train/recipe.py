"""`fit`: the one training entry of every domain. A domain supplies a :class:`Recipe` — its
:class:`TrainSpec`, how to load data, how to build a fresh :class:`Pipeline` and its loss — and
core does the rest: overrides, a codec-checked warm start, the run folder, the `Trainer`, EMA,
the saved model, and :func:`export` of any checkpoint later.

A run folder::

    run.json        {"format", "package", "version", "recipe", "spec", "data", "init_from",
                     "pipeline": Pipeline.to_config(), "result": {...} once finished}
    checkpoints/    the Trainer's atomic checkpoints (model, EMA, optimiser)
    metrics.jsonl   one line per logged step
    model/          the EMA weights as a pretrained directory, written when the run ends
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from polydit.core.atomic import atomic_write_text
from polydit.core.config import JsonConfig
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.hub import package_version
from polydit.core.pipeline import Pipeline
from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.core.train.config import TrainConfig
from polydit.core.train.data import Dataset
from polydit.core.train.distributed import dist_env
from polydit.core.train.trainer import LossFn, Trainer, TrainResult
from polydit.core.train.warm_start import warm_start

RUN_FILE = "run.json"
RUN_FORMAT = 1
MODEL_DIR = "model"


@dataclass(frozen=True)
class TrainSpec(JsonConfig):
    """The base of every domain's run settings (what ``--config`` JSON sets); `train` holds the
    Trainer's knobs, a domain subclass adds its data, codec, model, process and sampling fields."""

    train: TrainConfig = field(default_factory=TrainConfig)

    def overridden(
        self, *, steps: int | None = None, seed: int | None = None, dtype: str | None = None
    ) -> Self:
        """A copy with the run flags ``--steps``, ``--seed``, ``--dtype`` applied when given."""
        changes = {"steps": steps, "seed": seed, "dtype": dtype}
        return self.replace(
            train=self.train.replace(**{k: v for k, v in changes.items() if v is not None})
        )


S = TypeVar("S", bound=TrainSpec)
P = TypeVar("P", bound=Pipeline)


@dataclass(frozen=True)
class TrainData:
    """A loaded training set: the map-style `dataset`, its `name` (recorded in run.json and the
    model) and the inputs `skipped` as malformed (each a message naming the file/record)."""

    dataset: Dataset
    name: str
    skipped: Sequence[str] = ()


def codec_checked_warm_start(pipeline: P, donor: P, source: str) -> P:
    """The default warm start: the donor's codec must equal the run's, its network the same but
    for options that only add parameters (:func:`~polydit.core.train.warm_start.warm_start`)."""
    if donor.codec != pipeline.codec:
        theirs, ours = donor.codec_config(), pipeline.codec_config()
        differ = _differences(theirs, ours) or [f"{type(donor.codec).__name__} settings"]
        raise ConfigError(
            f"--init-from {source}: its codec differs from the run's (there → here: "
            + ", ".join(differ)
            + ")"
        )
    warm_start(pipeline.model, donor.model, source)
    return pipeline


@dataclass(frozen=True)
class Recipe(Generic[S, P]):
    """What a domain supplies to :func:`fit` (one per kind of model it trains).

    name: the recipe's name in run.json (a domain's ``recipes`` key). spec: the TrainSpec class
    whose defaults are the shipped recipe. pipeline: the Pipeline class it builds and exports.
    data(spec, source, flags): the training set (source: ``--data``, None for the built-in
    default; flags: the domain's train flags). build(spec, dataset, seed): a freshly initialised
    pipeline, weights drawn after ``torch.manual_seed(seed)``. loss(spec, pipeline): the
    Trainer's ``loss_fn(model, batch, generator)``. warm_start(pipeline, donor, source): how
    ``--init-from`` adopts a pretrained model (default: :func:`codec_checked_warm_start`).
    """

    name: str
    spec: type[S]
    pipeline: type[P]
    data: Callable[[S, str | None, dict[str, Any]], TrainData]
    build: Callable[[S, Dataset, int], P]
    loss: Callable[[S, P], LossFn]
    warm_start: Callable[[P, P, str], P] = codec_checked_warm_start


@dataclass(frozen=True)
class RunOptions:
    """Where and how a run goes: the run folder `out`, ``--resume`` (continue from the newest
    checkpoint in `out`), ``--init-from`` (a pretrained directory), device, progress bar."""

    out: Path
    resume: bool = False
    init_from: Path | None = None
    device: str = "cpu"
    progress: bool = True


@dataclass(frozen=True)
class Fitted(Generic[P]):
    """What :func:`fit` returns: the pipeline with the EMA weights, where it was saved, and
    the Trainer's result (step, loss, wall time of this call, newest checkpoint)."""

    pipeline: P
    model_dir: Path
    result: TrainResult


def fit(recipe: Recipe[S, P], spec: S, data: TrainData, opts: RunOptions) -> Fitted[P]:
    """Train `recipe` per `spec` on `data` into run folder ``opts.out`` (see module docstring).

    A resumed run (``opts.resume`` and a checkpoint in the folder) rebuilds its pipeline from
    run.json, so it trains exactly what was started; its spec may differ from the stored one in
    ``train.steps`` only. ``opts.init_from`` warm-starts a fresh run (a checkpoint wins).
    """
    out = Path(opts.out)
    main = dist_env().is_main  # under torchrun only rank 0 writes run.json and the model
    resuming = opts.resume and bool(list_checkpoints(out / "checkpoints"))
    if resuming:
        stored = read_run(out)
        _check_resumable(stored, recipe, spec, out)
        pipeline = recipe.pipeline.from_config(stored["pipeline"], where=f"{out}/{RUN_FILE}")
        init_from = stored.get("init_from")
    else:
        pipeline = recipe.build(spec, data.dataset, spec.train.seed)
        init_from = None if opts.init_from is None else str(opts.init_from)
        if init_from is not None:
            donor = recipe.pipeline.from_pretrained(init_from)
            pipeline = recipe.warm_start(pipeline, donor, init_from)
    record: dict[str, Any] = {
        "format": RUN_FORMAT,
        "package": pipeline.package,
        "version": package_version(pipeline.package),
        "recipe": recipe.name,
        "spec": spec.to_dict(),
        "data": data.name,
        "init_from": init_from,
        "pipeline": pipeline.to_config(),
    }
    if main:
        _write_run(out, record)
    trainer = Trainer(
        pipeline.model,
        recipe.loss(spec, pipeline),
        data.dataset,
        spec.train,
        out,
        device=opts.device,
        progress=opts.progress,
    )
    result = trainer.fit(resume=opts.resume)
    pipeline.model = trainer.ema_model.eval()
    record["result"] = {
        "step": result.step,
        "loss": result.loss,
        "seconds_this_call": result.wall_time,
    }
    summary = {k: record[k] for k in ("recipe", "data", "init_from", "result")}
    model_dir = out / MODEL_DIR
    if main:
        pipeline.save_pretrained(model_dir, metrics={"training": summary})
        _write_run(out, record)
    return Fitted(pipeline, model_dir, result)


def read_run(run: str | Path) -> dict[str, Any]:
    """The run.json of run folder `run`."""
    path = Path(run) / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; expected a run folder written by train") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not a readable run record ({e})") from None
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{path}: not a run record of format {RUN_FORMAT}")
    for key in ("package", "recipe", "spec", "pipeline"):
        if key not in record:
            raise CheckpointError(f"{path}: missing field {key!r}")
    return record


def from_run(pipeline: type[P], run: str | Path, step: int | None = None, device: str = "cpu") -> P:
    """The EMA weights of run folder `run`'s checkpoint at `step` (default: the newest) in the
    pipeline it was started with — to evaluate or ship a run that is going or was stopped."""
    record = read_run(run)
    if record["package"] != pipeline.package:
        raise CheckpointError(
            f"{run}/{RUN_FILE}: a run of {record['package']}, expected {pipeline.package}"
        )
    found = dict(list_checkpoints(Path(run) / "checkpoints"))
    if not found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint")
    chosen = max(found) if step is None else step
    if chosen not in found:
        steps = ", ".join(str(s) for s in sorted(found))
        raise CheckpointError(f"{run}/checkpoints: no checkpoint at step {step} (have {steps})")
    return pipeline.from_config(
        record["pipeline"],
        load_checkpoint(found[chosen])["ema"],
        device=device,
        where=f"{run}/{RUN_FILE}",
        weights=str(found[chosen]),
    )


def export(
    pipeline: type[Pipeline],
    run: str | Path,
    out: str | Path,
    step: int | None = None,
    **sampling: Any,
) -> Path:
    """Save :func:`from_run` as a pretrained directory `out`; `sampling` (steps, sampler,
    cfg_scale, cfg_rescale, shift, given_scale) replaces the stored defaults where not None."""
    exported = from_run(pipeline, run, step)
    exported.sampling = exported.sampling.override(**sampling)
    return exported.save_pretrained(out)


def _write_run(out: Path, record: dict[str, Any]) -> None:
    atomic_write_text(out / RUN_FILE, json.dumps(record, indent=2) + "\n")


def _check_resumable(stored: dict[str, Any], recipe: Recipe, spec: TrainSpec, out: Path) -> None:
    """A resumed run must be the recipe it started as, with the same spec but for its steps and
    the forward's precision (a machine's choice: ``--dtype``, e.g. fp32 on a CPU without native
    bf16; the weights stay fp32 either way)."""
    path = out / RUN_FILE
    if stored["recipe"] != recipe.name:
        raise ConfigError(
            f"{path}: a {stored['recipe']} run; --resume cannot continue it as a {recipe.name} run"
        )
    before = recipe.spec.from_dict(stored["spec"], where=f"{path}: spec")
    now = spec.overridden(steps=before.train.steps, dtype=before.train.dtype)
    if now != before:
        differ = _differences(before.to_dict(), now.to_dict())
        raise ConfigError(
            f"{path}: --resume with other settings than the run started with ("
            + ", ".join(differ)
            + "); only --steps and --dtype may change"
        )


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in a:
        if isinstance(a[key], dict) and isinstance(b.get(key), dict):
            out += _differences(a[key], b[key], f"{prefix}{key}.")
        elif a[key] != b.get(key):
            out.append(f"{prefix}{key} {_short(a[key])} → {_short(b.get(key))}")
    return out


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
