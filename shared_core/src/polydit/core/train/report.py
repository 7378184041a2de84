"""What the main process shows and records: a rich progress bar and `metrics.jsonl`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from polydit.core.atomic import atomic_write
from polydit.core.train.curve import write_curves

CURVES_FILE = "curves.png"
CURVES_EVERY_S = 30.0  # redraw the curves at most this often (and at the last step)


class Reporter:
    """JSONL metrics every `log_every` steps (and at the last step) plus an optional progress bar.

    Each line of `metrics.jsonl` holds `step`, `loss` (mean over the steps since the previous
    line), the loss function's extra scalars (same mean), `grad_norm` (same mean, before
    clipping), `lr` (of this step), `steps_per_s` (over those steps) and `elapsed_s` (since `fit`
    started). `curves.png` beside it draws them (:mod:`polydit.core.train.curve`), redrawn at
    most every 30 s and at the last step. Lines after `start_step` (from a run that died after its last checkpoint) are
    dropped when training resumes; a fresh run starts a new file. A disabled reporter (ranks > 0)
    does nothing.
    """

    def __init__(
        self,
        path: Path,
        *,
        start_step: int,
        total_steps: int,
        log_every: int,
        enabled: bool,
        progress: bool,
    ) -> None:
        self.path, self.log_every, self.enabled = path, log_every, enabled
        self.total_steps = total_steps
        self._sums: dict[str, float] = {}
        self._count = 0
        self._t0 = self._t_last = self._t_curves = time.perf_counter()
        self._start_step = start_step
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[speed]} it/s"),
            TimeRemainingColumn(),
            console=console,
            disable=not (enabled and progress and console.is_terminal),
        )
        self._task = self._progress.add_task(
            "train", total=total_steps, completed=start_step, loss="-", speed="-"
        )
        if enabled:
            self._trim(start_step)

    def _trim(self, start_step: int) -> None:
        kept = []
        if start_step > 0 and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= start_step:
                        kept.append(line + "\n")
                except (ValueError, KeyError, TypeError):  # a line cut short by a crash
                    continue
        atomic_write(self.path, lambda f: f.write("".join(kept).encode()))

    def __enter__(self) -> Reporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def step(
        self, step: int, loss: float, lr: float, grad_norm: float, extras: dict[str, float]
    ) -> None:
        """Record optimizer step `step`; write a metrics line when it is due."""
        if not self.enabled:
            return
        for k, v in {"loss": loss, **extras, "grad_norm": grad_norm}.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._count += 1
        now = time.perf_counter()
        speed = (step - self._start_step) / max(now - self._t0, 1e-9)
        self._progress.update(self._task, completed=step, loss=f"{loss:.4f}", speed=f"{speed:.2f}")
        if step % self.log_every and step != self.total_steps:
            return
        record = {"step": step, **{k: v / self._count for k, v in self._sums.items()}}
        record |= {
            "lr": lr,
            "steps_per_s": self._count / max(now - self._t_last, 1e-9),
            "elapsed_s": now - self._t0,
        }
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self._sums, self._count, self._t_last = {}, 0, now
        if step == self.total_steps or now - self._t_curves >= CURVES_EVERY_S:
            write_curves(self.path, self.path.with_name(CURVES_FILE), self.path.parent.name)
            self._t_curves = time.perf_counter()
