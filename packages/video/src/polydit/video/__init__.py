"""polydit-video: video generation, prediction and interpolation with one DiT (VDT-style)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polydit.video.pipeline import VideoGenerator

__all__ = ["DEFAULT_MODEL", "PRETRAINED", "load_pretrained"]

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "moving-digits"


def load_pretrained(model: str | Path = DEFAULT_MODEL, device: str = "cpu") -> VideoGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory."""
    from polydit.video.pipeline import VideoGenerator

    return VideoGenerator.from_pretrained(model, device, shipped=PRETRAINED)
