"""Progress on long work: a CLI verb opens one live display (:func:`shown`) and the work inside
it reports to it by unit (:func:`expect`, :func:`advance`): ``Pipeline.generate`` counts
"samples", a domain its "episodes" or the clips of a data cache it builds. Each unit is one bar
with its count, rate and time left, on stderr, so ``--json`` output on stdout stays clean. A
verb that does the work in batches :func:`reserve` s the whole count first, so the bar shows the
run's total from the start instead of growing batch by batch.

Nothing is drawn outside a display, when stderr is not a terminal, or with ``--quiet``; the
reporting calls then cost a context-variable lookup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Units per second of a task ("12.3 samples/s"; "-" until rich has a speed)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        rate = "-" if speed is None else f"{speed:.3g}"
        return Text(f"{rate} {task.description}/s", style="progress.data.speed")


class Display:
    """One live rich display: a bar per unit, its total grown by every :meth:`expect` beyond
    what :meth:`reserve` announced."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.reserved: dict[str, int] = {}

    def reserve(self, unit: str, count: int) -> None:
        self.reserved[unit] = self.reserved.get(unit, 0) + count

    def expect(self, unit: str, count: int) -> None:
        if unit not in self.tasks:  # the bar appears with the first work, at its planned total
            self.tasks[unit] = self.progress.add_task(unit, total=self.reserved.get(unit, 0))
        task = self.tasks[unit]
        covered = min(count, self.reserved.get(unit, 0))
        self.reserved[unit] = self.reserved.get(unit, 0) - covered
        total = self.progress.tasks[self.progress.task_ids.index(task)].total or 0
        if count > covered:
            self.progress.update(task, total=total + count - covered)

    def advance(self, unit: str, count: int) -> None:
        if unit in self.tasks:
            self.progress.advance(self.tasks[unit], count)


_active: ContextVar[Display | None] = ContextVar("polydit_progress", default=None)


@contextmanager
def shown(enabled: bool = True, console: Console | None = None) -> Iterator[Display | None]:
    """Draw the progress of the work inside the block on `console` (default: stderr), if
    `enabled` and the console is a terminal; yields the display (None when nothing is drawn)."""
    console = console or Console(stderr=True)
    if not enabled or not console.is_terminal or _active.get() is not None:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )
    tty = sys.stdout.isatty()  # a piped stdout (--json) must not be routed to the display
    with Progress(*columns, console=console, redirect_stdout=tty, redirect_stderr=tty) as progress:
        display = Display(progress)
        token = _active.set(display)
        try:
            yield display
        finally:
            _active.reset(token)


def reserve(unit: str, count: int) -> None:
    """Announce a run of `count` units of `unit` whose work will :func:`expect` it piece by
    piece: the bar shows the whole count from its first piece, and those pieces do not grow it."""
    display = _active.get()
    if display is not None:
        display.reserve(unit, count)


def expect(unit: str, count: int) -> None:
    """Announce `count` more units of `unit` ("samples") to the active display, if any."""
    display = _active.get()
    if display is not None:
        display.expect(unit, count)


def advance(unit: str, count: int = 1) -> None:
    """Count `count` units of `unit` done on the active display, if any."""
    display = _active.get()
    if display is not None:
        display.advance(unit, count)
