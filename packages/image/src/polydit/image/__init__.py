"""polydit-image: class- and text-conditional image generation with a DiT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from polydit.image.pipeline import ImageGenerator

__all__ = ["DEFAULT_MODEL", "PRETRAINED", "ImageGenerator", "load_pretrained"]

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "digits"


def load_pretrained(model: str | Path = DEFAULT_MODEL, device: str = "cpu") -> ImageGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory."""
    from polydit.image.pipeline import ImageGenerator

    return ImageGenerator.from_pretrained(model, device, shipped=PRETRAINED)


__getattr__ = lazy_attributes(__name__, {"ImageGenerator": "pipeline"})
