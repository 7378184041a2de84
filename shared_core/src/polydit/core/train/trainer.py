"""`Trainer`: the one training loop of every polydit domain (single process or `torchrun`)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.utils import clip_grads_with_norm_

from polydit.core.atomic import remove_temp_files
from polydit.core.config import to_dict
from polydit.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    TrainingDiverged,
    TrainingInterrupted,
)
from polydit.core.precision_choice import resolve_dtype
from polydit.core.train.checkpoint import (
    FORMAT,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from polydit.core.train.config import TrainConfig
from polydit.core.train.data import (
    Batch,
    Collate,
    Dataset,
    IndexStream,
    fetch,
    global_rng_seed,
    micro_batch_generator,
    to_device,
)
from polydit.core.train.distributed import (
    Sharding,
    dist_env,
    init_process_group,
    resolve_device,
    sharding,
)
from polydit.core.train.ema import EMA, ema_decay_at
from polydit.core.train.report import Reporter
from polydit.core.train.schedule import lr_at
from polydit.core.train.signals import StopRequest, stop_on_signals

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module, Batch, torch.Generator], Tensor | dict[str, Tensor]]
"""`loss_fn(model, batch, generator)` → scalar loss, or a dict with "loss" and extra scalars.

`batch` is one micro-batch on the trainer's device; `generator` (on that device) is the only
source of the loss's randomness (t, noise, label dropout). The loss must be a mean over the
micro-batch. Under `torchrun`, `model` is a DDP wrapper or an FSDP-sharded module: run the
forward as `model(...)`; attributes such as `model.num_classes` are forwarded to the wrapped
module.
"""

RESUME_FIXED = ("batch_size", "seed")  # fields a resumed run must share with its checkpoint


@dataclass(frozen=True)
class TrainResult:
    """Outcome of `Trainer.fit`: last optimizer `step`, its `loss`, this call's `wall_time` (s)
    and the newest `checkpoint` (None if none was written)."""

    step: int
    loss: float
    wall_time: float
    checkpoint: Path | None


class Trainer:
    """Trains `model` on `dataset` by minimising `loss_fn`; see `TrainConfig` for the knobs.

    AdamW (weight decay on parameters with >= 2 dims only), linear warm-up then cosine/constant
    LR, gradient clipping, EMA, bf16 autocast, gradient accumulation, atomic checkpoints under
    `out_dir/checkpoints/`, `out_dir/metrics.jsonl`, exact resume, SIGTERM/SIGINT → checkpoint
    and `TrainingInterrupted`, NaN/inf guard → `TrainingDiverged`.

    Batching and randomness follow `polydit.core.train.data`: they depend only on
    `(seed, step, micro-batch index)`, so a run is reproducible bit for bit across resumes and
    (up to float summation order) across world sizes with the same `world_size * grad_accum`.
    Torch's global RNG is also reseeded per micro-batch, so dropout inside the model is covered.

    Under `torchrun` (WORLD_SIZE > 1) `fit` joins the process group (gloo on CPU, nccl on CUDA;
    `device="cuda"` becomes `cuda:LOCAL_RANK`), wraps the model in DDP (or, with
    `parallel="fsdp"`, shards it with FSDP2: see `distributed.FullyShard`), runs this rank's
    micro-batches and leaves the group it created at the end; only rank 0 writes files.
    Checkpoints hold full state dicts either way, so a run resumes under any layout. Under
    FSDP `ema_model` is a full copy on every rank, updated from the gathered weights.

    Args:
        model: the network; moved to `device`. Its weights are trained in place.
        loss_fn: see `LossFn`.
        dataset: map-style; `dataset.batch(indices)` is used when defined, else items + collate.
        config: the `TrainConfig`.
        out_dir: run directory (checkpoints/, metrics.jsonl).
        device: where to train.
        progress: show a rich progress bar (only on a terminal, only on rank 0).
        collate: turns a list of items into a batch (default: stack tensors, dicts, tuples).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        dataset: Dataset,
        config: TrainConfig,
        out_dir: str | Path,
        *,
        device: torch.device | str = "cpu",
        progress: bool = True,
        collate: Collate | None = None,
    ) -> None:
        env = dist_env()
        num_micro = env.world_size * config.grad_accum
        if config.batch_size % num_micro:
            raise ConfigError(
                f"TrainConfig.batch_size: {config.batch_size} is not divisible by world_size "
                f"({env.world_size}) * grad_accum ({config.grad_accum}) = {num_micro}"
            )
        if len(dataset) == 0:
            raise DataError("Trainer: the dataset is empty")
        self.config, self.loss_fn, self.dataset, self.collate = config, loss_fn, dataset, collate
        self.out_dir = Path(out_dir)
        self.checkpoint_dir = self.out_dir / "checkpoints"
        self.progress = progress
        self.device = resolve_device(device, env)
        self.dtype = resolve_dtype(config.dtype, self.device.type)  # "auto" → this machine's
        self.model = model.to(self.device)
        self._build_optimizer()
        self._sharding: Sharding = sharding(config.parallel, env)
        self._ema = EMA(self.model)
        self._stream = IndexStream(len(dataset), config.seed)
        self.step = 0
        self._loss = math.nan
        self._last_checkpoint: Path | None = None

    @property
    def ema_model(self) -> nn.Module:
        """The EMA copy of the model (eval mode, no grad): the weights domains ship."""
        return self._ema.module

    def fit(self, resume: bool = False) -> TrainResult:
        """Train up to `config.steps`; with `resume`, first load the newest checkpoint in out_dir.

        Raises:
            ConfigError: a fresh run (`resume=False`) in an out_dir that holds checkpoints.
            CheckpointError: the newest checkpoint is unreadable or its `batch_size`/`seed`
                differ from `config` (the message names the field).
            TrainingDiverged: a loss or gradient norm became NaN/inf; weights are not updated.
            TrainingInterrupted: SIGTERM/SIGINT arrived; the step in flight was finished and
                checkpointed, and `fit(resume=True)` continues exactly.
        """
        t0 = time.perf_counter()
        owns_group = init_process_group(self.device)
        try:
            env = dist_env()
            if self._sharding.shard(self.model):  # new (sharded) parameters, a new optimizer
                self._build_optimizer()
            start = self._restore() if resume else self._start_fresh()
            self.model.train()
            net = self._sharding.wrap(self.model, self.device)
            if env.is_main:
                remove_temp_files(self.checkpoint_dir)
            reporter = Reporter(
                self.out_dir / "metrics.jsonl",
                start_step=start,
                total_steps=self.config.steps,
                log_every=self.config.log_every,
                enabled=env.is_main,
                progress=self.progress,
            )
            with stop_on_signals() as stop, reporter:
                self._loop(start, net, stop, reporter)
        finally:
            if owns_group:
                dist.destroy_process_group()
        return TrainResult(self.step, self._loss, time.perf_counter() - t0, self._last_checkpoint)

    # ----------------------------------------------------------------------------- the loop

    def _loop(self, start: int, net: nn.Module, stop: StopRequest, reporter: Reporter) -> None:
        cfg, env = self.config, dist_env()
        for step in range(start + 1, cfg.steps + 1):
            lr = lr_at(step, cfg)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            sums, keys = self._accumulate(step, net)
            stats = torch.cat([sums, sums.new_tensor([1.0 if stop.signal_name else 0.0])])
            if env.world_size > 1:
                dist.all_reduce(stats)  # sum over ranks: identical on every rank afterwards
            *means, stop_votes = stats.tolist()
            num_micro = env.world_size * cfg.grad_accum
            loss, *extra = (m / num_micro for m in means)
            grad_norm = self._clip()
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                raise self._divergence(step, loss, grad_norm)
            self.optimizer.step()
            with self._sharding.gathered(self.model) as full:
                self._ema.update(full, ema_decay_at(step, cfg.ema_decay, cfg.ema_warmup))
            self.step, self._loss = step, loss
            reporter.step(step, loss, lr, grad_norm, dict(zip(keys, extra, strict=True)))
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stop_votes > 0:
                self._save(step)
            if stop_votes > 0:
                raise TrainingInterrupted(
                    f"training stopped by {stop.signal_name or 'a signal to another rank'} after "
                    f"step {step}; checkpoint {self._last_checkpoint}; continue with "
                    "--resume (fit(resume=True))",
                    step=step,
                    checkpoint=str(self._last_checkpoint),
                )

    def _accumulate(self, step: int, net: nn.Module) -> tuple[Tensor, list[str]]:
        """Forward/backward this rank's micro-batches of `step`; grads hold the global mean.

        Returns (1 + K,) sums of [loss, *extras] over this rank's micro-batches, and the K keys.
        """
        cfg, env = self.config, dist_env()
        num_micro = env.world_size * cfg.grad_accum
        self.optimizer.zero_grad(set_to_none=True)
        autocast = torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.dtype == "bf16"
        )
        sums: Tensor | None = None
        keys: list[str] = []
        for a in range(cfg.grad_accum):
            j = env.rank * cfg.grad_accum + a
            indices = self._stream.micro_batch(step, j, cfg.batch_size, num_micro)
            batch = to_device(fetch(self.dataset, indices, self.collate), self.device)
            generator = micro_batch_generator(cfg.seed, step, j, self.device)
            torch.manual_seed(global_rng_seed(cfg.seed, step, j))
            last = a == cfg.grad_accum - 1
            with self._sharding.accumulating(net, last):
                with autocast:
                    out = self.loss_fn(net, batch, generator)
                loss, extras = self._split(out)
                (loss / cfg.grad_accum).backward()  # DDP/FSDP then average over ranks
            if a == 0:
                keys = sorted(extras)
            elif sorted(extras) != keys:
                raise TypeError(f"loss_fn returned extras {sorted(extras)} after {keys}")
            values = torch.stack([loss.detach(), *(extras[k] for k in keys)])
            sums = values if sums is None else sums + values
        assert sums is not None  # grad_accum >= 1
        return sums, keys

    def _split(self, out: Tensor | dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """(scalar float32 loss, {name: scalar float32 tensor}) from a loss_fn result."""
        if isinstance(out, dict):
            if "loss" not in out:
                raise TypeError(f"loss_fn returned a dict without 'loss' (keys: {sorted(out)})")
            loss = out["loss"]
            extras = {
                k: torch.as_tensor(v, device=self.device).detach().float().reshape(())
                for k, v in out.items()
                if k != "loss"
            }
        else:
            loss, extras = out, {}
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            raise TypeError(f"loss_fn must return a scalar tensor loss, got {loss!r}")
        return loss.float(), extras

    def _clip(self) -> float:
        """Global L2 norm of the gradients (before clipping); clip to `grad_clip` if set."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        if not params:
            return 0.0
        norm = self._sharding.total_norm([p.grad for p in params])
        if self.config.grad_clip is not None:
            clip_grads_with_norm_(params, self.config.grad_clip, norm)
        return norm.item()

    def _divergence(self, step: int, loss: float, grad_norm: float) -> TrainingDiverged:
        where = (
            f"last good checkpoint: {self._last_checkpoint}"
            if self._last_checkpoint is not None
            else "no checkpoint was written yet"
        )
        return TrainingDiverged(
            f"training diverged at step {step} (loss {loss}, grad_norm {grad_norm}); the weights "
            f"were not updated and nothing was saved; {where}. Lower TrainConfig.lr, check the "
            "data, or resume with --resume (fit(resume=True))."
        )

    # ------------------------------------------------------------------------ checkpoints

    def _build_optimizer(self) -> None:
        """AdamW over the trainable parameters, weight decay on those with >= 2 dims only."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "decay": True},
            {"params": [p for p in params if p.ndim < 2], "decay": False},
        ]
        self.optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=self.config.lr)
        self._apply_hyperparameters()

    def _apply_hyperparameters(self) -> None:
        """Set betas and weight decay from the config (also after loading optimizer state)."""
        for group in self.optimizer.param_groups:
            group["betas"] = tuple(self.config.betas)
            group["weight_decay"] = self.config.weight_decay if group["decay"] else 0.0

    def _save(self, step: int) -> None:
        env = dist_env()
        path = checkpoint_path(self.checkpoint_dir, step)
        if env.world_size > 1:
            dist.barrier()
        model_state, optimizer_state = self._sharding.state_dicts(self.model, self.optimizer)
        if env.is_main:
            state = {
                "format": FORMAT,
                "step": step,
                "loss": self._loss,
                "micro_batches": env.world_size * self.config.grad_accum,
                "config": to_dict(self.config),
                "model": model_state,
                "ema": self.ema_model.state_dict(),
                "optimizer": optimizer_state,
            }
            save_checkpoint(path, state)
            prune_checkpoints(self.checkpoint_dir, self.config.keep_checkpoints)
        if env.world_size > 1:
            dist.barrier()  # no rank moves on (or exits) before the file is complete
        self._last_checkpoint = path

    def _start_fresh(self) -> int:
        found = list_checkpoints(self.checkpoint_dir)
        if found:
            raise ConfigError(
                f"out_dir {self.out_dir} already holds checkpoints (newest {found[-1][1].name}); "
                "resume with --resume (fit(resume=True)) or use another --out"
            )
        return 0

    def _newest_readable(self, found: list[tuple[int, Path]]) -> tuple[int, Path, dict]:
        """The newest checkpoint that loads: a truncated newest one (a kill during a write on a
        file system without atomic rename, a full disk) falls back to the one before it."""
        errors = []
        for step, path in reversed(found):
            try:
                return step, path, load_checkpoint(path, self.device)
            except CheckpointError as e:
                errors.append(str(e))
                if dist_env().is_main:
                    log.warning("resume: %s; trying the checkpoint before it", e)
        raise CheckpointError(
            f"{self.checkpoint_dir}: no readable checkpoint ({'; '.join(errors)})"
        )

    def _restore(self) -> int:
        """Load the newest checkpoint; return its step (0 and a log line if there is none)."""
        found = list_checkpoints(self.checkpoint_dir)
        if not found:
            if dist_env().is_main:
                log.warning(
                    "resume: no checkpoint in %s; starting from scratch", self.checkpoint_dir
                )
            return 0
        step, path, state = self._newest_readable(found)
        current = to_dict(self.config)
        for name in RESUME_FIXED:
            if state["config"].get(name) != current[name]:
                raise CheckpointError(
                    f"{path}: TrainConfig.{name} is {state['config'].get(name)!r} in the "
                    f"checkpoint but {current[name]!r} now; a resumed run must keep {name} "
                    "(use another out_dir to change it)"
                )
        try:
            self._sharding.load_state_dicts(
                self.model, self.optimizer, state["model"], state["optimizer"]
            )
            self.ema_model.load_state_dict(state["ema"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{path}: does not fit this model/optimizer ({e})") from e
        self._apply_hyperparameters()
        env = dist_env()
        if env.is_main:
            log.info("resume: continuing from %s (step %d)", path, step)
            if state["micro_batches"] != env.world_size * self.config.grad_accum:
                log.warning(
                    "resume: the checkpoint ran %d micro-batches per step, this run %d; the "
                    "data order is unchanged but per-micro-batch randomness differs",
                    state["micro_batches"],
                    env.world_size * self.config.grad_accum,
                )
        self.step, self._loss, self._last_checkpoint = step, float(state["loss"]), path
        return step
