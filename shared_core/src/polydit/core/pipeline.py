"""The base of every domain generator: a DiT, a process and default sampling settings.

A domain subclass adds its codec (data ↔ tokens) and its conditioning; this class owns noise,
guidance, dtype, the sampler call and the pretrained-directory format.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import torch
from torch import Tensor

from polydit.core import arguments, progress
from polydit.core.accel import CachedDenoiser, Usage, build_cache
from polydit.core.codec import Codec
from polydit.core.config import JsonConfig, from_dict, to_dict
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import CheckpointError, ConfigError, SamplingError
from polydit.core.hub import load_pretrained, package_version, resolve_pretrained, save_pretrained
from polydit.core.nn.blocks import DiTBlock
from polydit.core.process import (
    CATEGORICAL_SAMPLERS,
    TIME_GRIDS,
    AffineProcess,
    ProcessConfig,
    build_process,
)
from polydit.core.sampling import (
    ClassifierFreeGuidance,
    GivenGuidance,
    ModelDenoiser,
    SelfConditioning,
    sample,
)
from polydit.core.sampling.samplers import SAMPLER_NAMES
from polydit.core.tokens import Cond, Tokens

DTYPES = ("fp32", "bf16")
#: every sampler name some pipeline accepts (what ``--sampler`` checks before a model loads)
SAMPLER_CHOICES = SAMPLER_NAMES + CATEGORICAL_SAMPLERS


@dataclass(frozen=True)
class SamplingConfig(JsonConfig):
    """Default sampling settings stored with a model (every CLI flag overrides one). A subclass
    for another kind of process names its samplers in :attr:`samplers`."""

    samplers: ClassVar[tuple[str, ...]] = SAMPLER_NAMES

    steps: int = 50
    sampler: str = "euler"
    cfg_scale: float = 1.0  # classifier-free guidance on labels/context; 1 = none
    cfg_rescale: float = 0.0  # its std rescaling φ ∈ [0, 1] (ClassifierFreeGuidance); 0 = off
    shift: float = 1.0  # SD3 time shift of the grid
    given_scale: float = 1.0  # guidance on the given tokens (GivenGuidance); 1 = none

    def __post_init__(self) -> None:
        if self.sampler not in self.samplers:
            raise ConfigError(f"sampler {self.sampler!r} is not one of {', '.join(self.samplers)}")
        if self.steps < 1:
            raise ConfigError(f"steps must be ≥ 1, got {self.steps}")
        for name in ("cfg_scale", "given_scale", "shift"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "shift" and value == 0):
                expected = "> 0" if name == "shift" else ">= 0"
                raise ConfigError(f"{name} must be a finite number {expected}, got {value}")
        if not 0.0 <= self.cfg_rescale <= 1.0:
            raise ConfigError(f"cfg_rescale must be in [0, 1], got {self.cfg_rescale}")

    def override(self, **values: Any) -> SamplingConfig:
        """A copy with every non-None value replaced; a setting this model does not have is a
        ConfigError naming it."""
        given = {k: v for k, v in values.items() if v is not None}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(
                f"--{unknown[0].replace('_', '-')}: not a sampling setting of this model "
                f"(its settings: {', '.join(sorted(known))})"
            )
        return replace(self, **given)


@dataclass(frozen=True)
class CategoricalSampling(SamplingConfig):
    """Sampling defaults of a model with categorical states (:mod:`polydit.core.process.
    categorical`): sampler "ancestral" (DiGress) or "dfm" (DeFoG) with its stochasticity `eta`
    and target guidance `omega` (dfm only), on a time `grid` (one of TIME_GRIDS)."""

    samplers: ClassVar[tuple[str, ...]] = CATEGORICAL_SAMPLERS

    sampler: str = "ancestral"
    eta: float = 0.0
    omega: float = 0.0
    grid: str = "uniform"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.grid not in TIME_GRIDS:
            raise ConfigError(f"grid {self.grid!r} is not one of {', '.join(TIME_GRIDS)}")
        for name in ("eta", "omega"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value}")


@contextlib.contextmanager
def precision(dtype: str, device: torch.device | str) -> Iterator[None]:
    """Autocast for "bf16", nothing for "fp32"."""
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    device_type = torch.device(device).type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=dtype == "bf16"):
        yield


#: On the CPU, guidance runs as one call of twice the batch only up to this many tokens (B × N)
#: per branch: small calls are overhead-bound and gain up to 1.9×, large ones lose up to 15%
#: (``python -m polydit.bench.cfg_batching``, BENCHMARKS.md).
BATCHED_CFG_MAX_CPU_TOKENS = 128


def batch_guidance(template: Tokens, device: torch.device | str) -> bool:
    """Whether CFG's two branches should share one network call for this batch and device."""
    b, n = template.x.shape[:2]
    return torch.device(device).type != "cpu" or b * n <= BATCHED_CFG_MAX_CPU_TOKENS


def seeded_noise(shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu") -> Tensor:
    """Noise (B, ...) where sample i is drawn from seed + i, so a sample does not depend on the
    batch it was drawn in."""
    rows = [
        torch.randn(shape[1:], generator=torch.Generator().manual_seed(seed + i))
        for i in range(shape[0])
    ]
    return torch.stack(rows).to(device)


#: seeds of per-sample class draws: apart from the noise (seed + i) and StepNoise (2**32 + seed + i)
LABEL_SEED_OFFSET = 2**33


def seeded_labels(num: int, classes: int, seed: int) -> Tensor:
    """(num,) class ids uniform in [0, classes) where id i is drawn from its own generator
    (``LABEL_SEED_OFFSET + seed + i``), so a sample's class depends on its seed alone, not on
    how many samples are drawn or in which batch (what an omitted label means)."""
    draws = [
        torch.randint(
            classes, (1,), generator=torch.Generator().manual_seed(LABEL_SEED_OFFSET + seed + i)
        )
        for i in range(num)
    ]
    return torch.cat(draws) if draws else torch.zeros(0, dtype=torch.long)


class Pipeline:
    """DiT + process + sampling defaults + the domain's :class:`~polydit.core.codec.Codec`.

    Subclasses set :attr:`package` (their distribution name) and :attr:`codec_type` (the codec
    class ``config.json`` stores), optionally :attr:`default_sampling` and
    :attr:`model_config_type` (a DiTConfig subclass) and :attr:`sampling_config_type` (a
    SamplingConfig subclass); :meth:`configure` checks or adapts the parts once set,
    :meth:`build_model` picks a DiT subclass, :meth:`process_from_config` another kind of
    process (e.g. categorical) and :meth:`from_configs` restores what a subclass stores beyond
    its codec. Only :meth:`generate` needs the process to be an :class:`AffineProcess`.
    """

    package: ClassVar[str] = "polydit-core"
    codec_type: ClassVar[type[Codec] | None] = None
    model_config_type: ClassVar[type[DiTConfig]] = DiTConfig
    sampling_config_type: ClassVar[type[SamplingConfig]] = SamplingConfig
    default_sampling: ClassVar[SamplingConfig] = SamplingConfig()
    #: the package's ``pretrained/`` folder: :meth:`from_pretrained` also accepts its model names
    shipped_root: ClassVar[Path | None] = None
    #: :meth:`generate` samples in chunks of exactly this many (the last padded), so every
    #: network call has the same shapes and sample i is bit-identical however many are drawn
    #: (BLAS picks its blocking and thread split by shape); ``None``: one run per batch
    sample_rows: ClassVar[int | None] = 16
    #: what :meth:`generate` counts on the CLI's progress display (None: nothing; a domain whose
    #: samples are steps of a longer task, e.g. policy chunks, reports that task instead)
    progress_unit: ClassVar[str | None] = "samples"
    #: the sections of config.json that :meth:`to_config` writes; any other is refused on load
    config_sections: ClassVar[tuple[str, ...]] = ("model", "process", "sampling", "codec")

    def __init__(
        self,
        model: DiT,
        process: AffineProcess,
        sampling: SamplingConfig | None = None,
        *,
        codec: Codec | None = None,
    ):
        self.model = model.eval()
        self.process = process
        self.sampling = sampling or self.default_sampling
        self.codec = codec
        self.last_usage: Usage | None = None
        self.cache_usage = Usage()
        self.sampling_seconds = 0.0
        #: rows sampled so far, and (rows, seconds) of the first chunk: with ``compile()`` that
        #: chunk holds the one-time compile, so a steady rate leaves it out
        self.sampled_rows = 0
        self.first_chunk: tuple[int, float] | None = None
        self.compiled = False  # set by compile(): uncached sampling runs one compiled loop
        self.configure()

    def configure(self) -> None:
        """Called at the end of ``__init__``: check that model, process and codec fit together
        and adapt the model to the codec where needed (e.g. an attention pattern). No-op here."""

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: torch.device | str) -> Self:
        self.model.to(device)
        return self

    def compile(self) -> bool:
        """Compile the network with torch.compile (inductor) for the sampler's calls; False (and
        nothing changed) on a CPU without a C++ compiler, which inductor needs there. Compiled:
        the whole forward, and the pieces the caches call one by one (``prepare``, each block's
        forward and a DiT block's modulation / attention / MLP branches, the head), so a cached
        sampler runs compiled too; uncached sampling compiles the sampler's whole loop over the
        steps as well (``sample(compiled=True)``), which removes the per-step Python overhead.
        Only bound methods are replaced, never modules, so the state dict and
        ``save_pretrained`` are unchanged. Compiling costs tens of seconds once per shape and
        step count; a small model at batch 1 then runs several times faster (the policy:
        BENCHMARKS.md)."""
        if self.device.type == "cpu" and not any(
            shutil.which(c) for c in ("c++", "g++", "clang++")
        ):
            return False
        model = self.model
        pieces: list[tuple[Any, str]] = [
            (model, "forward"),
            (model, "prepare"),
            (model.head, "forward"),
        ]
        for block in model.blocks:
            pieces.append((block, "forward"))
            if isinstance(block, DiTBlock):
                pieces += [(block, n) for n in ("modulation", "attn_branch", "mlp_branch")]
        for owner, name in pieces:
            setattr(owner, name, torch.compile(getattr(owner, name)))
        self.compiled = True
        return True

    # --- sampling -------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``generator(...)`` is ``generator.sample(...)`` (diffusers' ``pipe(...)``)."""
        return self.sample(*args, **kwargs)  # type: ignore[attr-defined]

    def generate(
        self,
        template: Tokens,
        cond: Cond | None = None,
        *,
        known: Tensor | None = None,
        seed: int = 0,
        dtype: str = "fp32",
        cache: str = "none",
        cache_opts: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Tensor:
        """Sample token features (B, N, C) for the positions/mask of `template` (its x gives the
        shape; its values are ignored). overrides: steps, sampler, cfg_scale, cfg_rescale, shift,
        given_scale.

        cache: a training-free accelerator of :mod:`polydit.core.accel` with its `cache_opts`;
        afterwards :attr:`last_usage` holds this call's computed/total block evaluations and
        :attr:`cache_usage` the sum over every cached call so far; :attr:`sampling_seconds`
        sums the wall time of every call, :attr:`sampled_rows` their rows and :attr:`first_chunk`
        the first chunk's rows and time.
        """
        started = time.perf_counter()
        seed = arguments.seed(seed)
        settings = self.sampling.override(**overrides)
        batch, rows = template.x.shape[0], self.sample_rows
        usage, parts = Usage(), []
        if self.progress_unit:
            progress.expect(self.progress_unit, batch)
        for begin, idx in _chunks(batch, rows):
            chunk_started = time.perf_counter()
            part = self._generate_chunk(
                Tokens(*(_take(v, idx, batch) for v in (template.x, template.pos, template.mask))),
                None if cond is None else Cond(**_take_fields(cond, idx, batch)),
                _take(known, idx, batch),
                seed + begin,
                dtype,
                build_cache(cache, cache_opts),
                settings,
                usage,
            )
            parts.append(part[: min(len(idx), batch - begin)])
            self.record_chunk(len(parts[-1]), time.perf_counter() - chunk_started)
            if not torch.isfinite(parts[-1]).all():
                raise SamplingError(
                    f"the model produced non-finite values (NaN or inf) for samples {begin}…"
                    f"{begin + len(parts[-1]) - 1} with seed {seed}: nothing is written "
                    "(check the weights, --cfg and --dtype)"
                )
            if self.progress_unit:
                progress.advance(self.progress_unit, len(parts[-1]))
        self.last_usage = usage if usage.total else None
        if self.last_usage is not None:
            self.cache_usage.add(self.last_usage)
        self.sampling_seconds += time.perf_counter() - started
        return torch.cat(parts)

    def record_chunk(self, rows: int, seconds: float) -> None:
        """Count one sampled chunk in :attr:`sampled_rows` (and :attr:`first_chunk`); a
        subclass with its own sampling loop calls it per chunk."""
        self.sampled_rows += rows
        if self.first_chunk is None:
            self.first_chunk = (rows, seconds)

    def _generate_chunk(
        self,
        template: Tokens,
        cond: Cond | None,
        known: Tensor | None,
        seed: int,
        dtype: str,
        method: Any,
        settings: SamplingConfig,
        usage: Usage,
    ) -> Tensor:
        """One sampling run over the whole of `template` (B, N, C), adding a cache's block
        evaluations to `usage`; see :meth:`generate`."""
        device = self.device
        noise = self.initial_noise(template, seed).to(device)
        pos, mask = _to(template.pos, device), _to(template.mask, device)
        base = (
            ModelDenoiser(self.model, pos, mask)
            if method is None
            else CachedDenoiser(self.model, method, pos, mask)
        )
        denoiser = base
        if self.model.config.self_condition:
            denoiser = SelfConditioning(denoiser, self.process)
        if settings.given_scale != 1.0:
            denoiser = GivenGuidance(denoiser, self.process, settings.given_scale, noise)
        guided = ClassifierFreeGuidance(
            denoiser,
            settings.cfg_scale,
            batched=method is None and batch_guidance(template, device),
            rescale=settings.cfg_rescale,
        )
        with precision(dtype, device):
            x = sample(
                guided,
                self.process,
                noise,
                steps=settings.steps,
                sampler=settings.sampler,
                cond=None if cond is None else cond.to(device),
                known=_to(known, device),
                shift=settings.shift,
                seed=seed,
                compiled=self.compiled and method is None,
            ).float()
        if isinstance(base, CachedDenoiser):
            usage.add(base.usage)
        return x

    def initial_noise(self, template: Tokens, seed: int) -> Tensor:
        """The t = 1 state (B, N, C) sampling starts from: :func:`seeded_noise` by default.

        Override to constrain it (e.g. zero centre of mass over ``template.mask``); the override
        must keep sample i a function of seed + i alone.
        """
        return seeded_noise(tuple(template.x.shape), seed)

    # --- persistence ----------------------------------------------------------------------
    def codec_config(self) -> dict[str, Any]:
        """What ``config.json`` stores under "codec": the codec's fields by default."""
        return {} if self.codec is None else self.codec.to_dict()

    @classmethod
    def build_model(cls, config: DiTConfig, codec: dict[str, Any]) -> DiT:
        """The network for a stored model config and codec config: the core DiT by default;
        override for a domain head (a DiT subclass with extra parameters)."""
        return DiT(config)

    @classmethod
    def process_from_config(cls, config: dict[str, Any], where: str) -> Any:
        """The process ``config.json`` stores under "process": an affine process by default."""
        return build_process(from_dict(ProcessConfig, config, where=where))

    @classmethod
    def from_configs(
        cls, model: DiT, process: AffineProcess, sampling: SamplingConfig, codec: dict[str, Any]
    ) -> Self:
        """Rebuild from the parts :meth:`to_config` stored (the codec through
        :attr:`codec_type`)."""
        if cls.codec_type is None:
            return cls(model, process, sampling)
        return cls(model, process, sampling, codec=cls.codec_type.from_dict(codec, "codec"))

    def to_config(self) -> dict[str, Any]:
        """The JSON-able description that :meth:`from_config` rebuilds (weights aside)."""
        return {
            "model": self.model.config.to_dict(),
            "process": self.process.config.to_dict(),
            "sampling": to_dict(self.sampling),
            "codec": self.codec_config(),
        }

    @classmethod
    def from_config(
        cls,
        config: dict[str, Any],
        state: dict[str, Tensor] | None = None,
        *,
        device: torch.device | str = "cpu",
        where: str = "config.json",
        weights: str = "model.safetensors",
    ) -> Self:
        """Rebuild from :meth:`to_config` output; `state` (else fresh weights) loaded into the
        network. `where` / `weights` name the config and the weights in errors."""
        unknown = sorted(set(config) - set(cls.config_sections))
        if unknown:
            raise ConfigError(
                f"{where}: unknown section {', '.join(map(repr, unknown))} (this package writes "
                f"{', '.join(cls.config_sections)})"
            )
        try:
            model = cls.build_model(
                from_dict(cls.model_config_type, config["model"], where=f"{where}: model"),
                config.get("codec", {}),
            )
            process = cls.process_from_config(config["process"], f"{where}: process")
            sampling = from_dict(
                cls.sampling_config_type, config.get("sampling", {}), where=f"{where}: sampling"
            )
        except KeyError as e:
            raise ConfigError(f"{where}: missing section {e}") from None
        if state is not None:
            try:
                model.load_state_dict(state)
            except RuntimeError as e:
                first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
                raise CheckpointError(f"{weights} does not fit {where}: {first}") from None
        try:
            return cls.from_configs(model.to(device), process, sampling, config.get("codec", {}))
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None

    def save_pretrained(self, directory: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write config.json + model.safetensors (+ metrics.json) atomically."""
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        extra = {"metrics.json": metrics} if metrics else None
        return save_pretrained(
            directory,
            package=self.package,
            version=package_version(self.package),
            config=self.to_config(),
            state_dict=state,
            extra=extra,
        )

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, device: torch.device | str = "cpu", shipped: Path | None = None
    ) -> Self:
        """Load a directory written by :meth:`save_pretrained` of the same package; with
        `shipped` (a package's ``pretrained/`` folder; default :attr:`shipped_root`),
        `directory` may also name a model there."""
        shipped = shipped or cls.shipped_root
        if shipped is not None:
            directory = resolve_pretrained(directory, shipped)
        config, state = load_pretrained(
            directory, package=cls.package, version=package_version(cls.package)
        )
        return cls.from_config(
            config,
            state,
            device=device,
            where=f"{directory}/config.json",
            weights=f"{directory}/model.safetensors",
        )


def _chunks(batch: int, rows: int | None) -> Iterator[tuple[int, Tensor]]:
    """(first sample, indices) of each chunk: `rows` indices each, the last chunk padded by
    repeating the final sample; one chunk of the whole batch when rows is None."""
    if rows is None or batch == 0:
        yield 0, torch.arange(batch)
        return
    for begin in range(0, batch, rows):
        yield begin, torch.arange(begin, begin + rows).clamp(max=batch - 1)


def _take(t: Tensor | None, idx: Tensor, batch: int) -> Tensor | None:
    """Rows `idx` of a per-sample tensor (B, ...); None and broadcast (1, ...) pass through."""
    return t if t is None or t.shape[0] != batch else t[idx.to(t.device)]


def _take_fields(cond: Cond, idx: Tensor, batch: int) -> dict[str, Tensor | None]:
    return {f.name: _take(getattr(cond, f.name), idx, batch) for f in fields(cond)}


def _to(t: Tensor | None, device: torch.device | str) -> Tensor | None:
    return None if t is None else t.to(device)
