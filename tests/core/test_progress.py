"""Progress display: Pipeline.generate counts its samples onto the CLI's bar, only on a terminal."""

from __future__ import annotations

import io

import torch
from rich.console import Console

from polydit.core import progress
from polydit.core.dit import DiT, DiTConfig
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import FlowMatching
from polydit.core.tokens import Tokens


def pipeline() -> Pipeline:
    torch.manual_seed(0)
    model = DiT(DiTConfig.preset("tiny", in_dim=2, pos_axes=1))
    return Pipeline(model, FlowMatching(), SamplingConfig(steps=2))


def template(b: int = 3) -> Tokens:
    return Tokens(torch.zeros(b, 4, 2), torch.arange(4.0)[None, :, None].expand(b, 4, 1))


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


def counts(display: progress.Display) -> dict[str, tuple[float, float | None]]:
    return {t.description: (t.completed, t.total) for t in display.progress.tasks}


def test_generate_counts_every_sample_of_every_call_on_the_active_display() -> None:
    pipe, console = pipeline(), terminal()
    with progress.shown(console=console) as display:
        assert display is not None
        pipe.generate(template(b=20), seed=0)  # two chunks of 16
        assert counts(display) == {"samples": (20, 20)}
        pipe.generate(template(b=3), seed=0)
        progress.expect("episodes", 2)
        progress.advance("episodes")
        assert counts(display) == {"samples": (23, 23), "episodes": (1, 2)}
    drawn = console.file.getvalue()
    assert "samples" in drawn and "23/23" in drawn


def test_a_reserved_run_shows_its_total_from_the_first_batch() -> None:
    """A verb that reserves 7 samples and generates them in batches 3 + 3 + 1 shows 3/7 after
    the first batch (not 3/3); work beyond the reservation grows the total again."""
    pipe = pipeline()
    with progress.shown(console=terminal()) as display:
        assert display is not None
        progress.reserve("samples", 7)
        assert counts(display) == {}  # no bar before any work
        seen = []
        for size in (3, 3, 1):
            pipe.generate(template(b=size), seed=0)
            seen.append(counts(display)["samples"])
        assert seen == [(3, 7), (6, 7), (7, 7)]
        pipe.generate(template(b=2), seed=0)
        assert counts(display) == {"samples": (9, 9)}


def test_nothing_is_drawn_off_a_terminal_when_disabled_or_inside_another_display() -> None:
    plain = Console(file=io.StringIO(), force_terminal=False)
    with progress.shown(console=plain) as display:
        assert display is None
        pipeline().generate(template(), seed=0)  # reporting without a display is a no-op
    assert plain.file.getvalue() == ""
    with progress.shown(False, console=terminal()) as display:
        assert display is None
    with progress.shown(console=terminal()) as outer:
        with progress.shown(console=terminal()) as inner:
            assert inner is None
            progress.expect("samples", 1)
        assert outer is not None and counts(outer) == {"samples": (0, 1)}


def test_a_pipeline_without_a_unit_reports_nothing() -> None:
    class Silent(Pipeline):
        progress_unit = None

    base = pipeline()
    silent = Silent(base.model, base.process, base.sampling)
    with progress.shown(console=terminal()) as display:
        assert display is not None
        out = silent.generate(template(), seed=0)
        assert counts(display) == {}
    assert torch.equal(out, base.generate(template(), seed=0))
