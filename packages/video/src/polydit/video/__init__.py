"""polydit-video: video generation, prediction and interpolation with one DiT (VDT-style).

``from polydit.video import VideoGenerator; VideoGenerator.from_pretrained("moving-digits")``
(or :func:`load_pretrained`); its tasks return :class:`VideoSamples` (``.clips`` (B, T, C, H, W)
in [0, 1], ``.frames(i)``, ``.save_gif(i, path)``). Importing the package imports no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from polydit.video.pipeline import VideoGenerator, VideoSamples

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "moving-digits"
__all__ = ["DEFAULT_MODEL", "PRETRAINED", "VideoGenerator", "VideoSamples", "load_pretrained"]
__getattr__ = lazy_attributes(__name__, {"VideoGenerator": "pipeline", "VideoSamples": "pipeline"})


def load_pretrained(model: str | Path = DEFAULT_MODEL, device: str = "cpu") -> VideoGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory."""
    return __getattr__("VideoGenerator").from_pretrained(model, device, shipped=PRETRAINED)
