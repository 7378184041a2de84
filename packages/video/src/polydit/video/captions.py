"""Captions of moving-digits clips from their ground truth, and the motion they name.

A caption is a pure function of a clip's digit and its per-frame positions (the first digit):

    "a 3 moving up and to the left"
    "a 7 moving right, bouncing off the right wall"
    "a 1 moving down and to the right, bouncing off the bottom and right walls"

Each axis (y down, x right, the image convention) has a direction sign σ ∈ {−1, 0, +1}: the
sign of the digit's first non-zero step along it (0: it never moves along that axis). An axis
*bounces* when a later step goes the other way (a clip of T ≤ 8 frames bounces at most once
per axis); its wall is the one the digit was moving towards. Walls are named in the order the
bounces happen. The vocabulary is fixed: :func:`all_captions` lists every caption there is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.video.data import Clip, MovingDigits

#: (σ_y, σ_x) → words; σ_y < 0 is up (rows count downwards)
DIRECTIONS: dict[tuple[int, int], str] = {
    (-1, 0): "up",
    (1, 0): "down",
    (0, -1): "left",
    (0, 1): "right",
    (-1, -1): "up and to the left",
    (-1, 1): "up and to the right",
    (1, -1): "down and to the left",
    (1, 1): "down and to the right",
}
#: (axis, σ) → the wall a digit moving that way bounces off
WALLS: dict[tuple[int, int], str] = {
    (0, -1): "top",
    (0, 1): "bottom",
    (1, -1): "left",
    (1, 1): "right",
}
_PATTERN = re.compile(
    r"a (\d) moving (.+?)(?:, bouncing off the (\w+) wall|, bouncing off the (\w+) and (\w+) walls)?"
)


@dataclass(frozen=True)
class Motion:
    """What a caption says: the digit, the direction sign (σ_y, σ_x) and the axes that bounce
    (0 = y, 1 = x) in the order they do."""

    digit: int
    direction: tuple[int, int]
    bounces: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"Motion.direction must be one of {list(DIRECTIONS)}")
        if any(self.direction[axis] == 0 for axis in self.bounces):
            raise ConfigError("Motion: an axis without motion cannot bounce")


def motion_of(digit: int, positions: np.ndarray) -> Motion:
    """The motion of one digit from its (T, 2) top-left (y, x) positions per frame."""
    steps = np.sign(np.diff(np.asarray(positions), axis=0)).astype(int)  # (T-1, 2)
    direction, first_turn = [0, 0], {}
    for axis in range(2):
        moving = steps[:, axis][steps[:, axis] != 0]
        if len(moving):
            direction[axis] = int(moving[0])
            turns = np.nonzero(steps[:, axis] == -moving[0])[0]
            if len(turns):
                first_turn[axis] = int(turns[0])
    bounces = tuple(sorted(first_turn, key=lambda axis: (first_turn[axis], axis)))
    return Motion(int(digit), (direction[0], direction[1]), bounces)


def caption(motion: Motion) -> str:
    """The caption string of `motion`."""
    text = f"a {motion.digit} moving {DIRECTIONS[motion.direction]}"
    walls = [WALLS[(axis, motion.direction[axis])] for axis in motion.bounces]
    if len(walls) == 1:
        text += f", bouncing off the {walls[0]} wall"
    elif walls:
        text += f", bouncing off the {walls[0]} and {walls[1]} walls"
    return text


def clip_caption(clip: Clip) -> str:
    """The caption of a moving-digits clip (its first digit)."""
    return caption(motion_of(int(clip.labels[0]), clip.positions[:, 0]))


def parse_caption(text: str) -> Motion:
    """The motion a caption of this vocabulary names; a ConfigError naming --prompt otherwise."""
    found = _PATTERN.fullmatch(text.strip())
    words = {v: k for k, v in DIRECTIONS.items()}
    if found is None or found.group(2) not in words:
        raise ConfigError(
            f"--prompt {text!r}: not a moving-digits caption; expected e.g. "
            f"'a 3 moving up and to the left' or 'a 7 moving right, bouncing off the right wall'"
        )
    direction = words[found.group(2)]
    names = [w for w in found.group(3, 4, 5) if w]
    axes = {v: k for k, v in WALLS.items()}
    try:
        bounces = tuple(axes[name][0] for name in names)
        signs = [axes[name][1] for name in names]
    except KeyError:
        raise ConfigError(f"--prompt {text!r}: unknown wall among {names}") from None
    if any(direction[a] != s for a, s in zip(bounces, signs, strict=True)):
        raise ConfigError(f"--prompt {text!r}: a digit bounces off the wall it moves towards")
    return Motion(int(found.group(1)), direction, bounces)


@lru_cache(maxsize=1)
def _caption_ids() -> dict[str, int]:
    return {text: i for i, text in enumerate(all_captions())}


class CaptionedDigits:
    """Moving-digits clips with their captions: ``batch(indices)`` is (clips (K, T, 1, H, W),
    caption ids (K,) long into :func:`all_captions`)."""

    def __init__(self, digits: MovingDigits):
        if digits.config.max_digits != 1:
            raise ConfigError("text models caption one digit: codec.data.max_digits must be 1")
        self.digits = digits

    def __len__(self) -> int:
        return len(self.digits)

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        clips = [self.digits.clip(int(i)) for i in indices]
        videos = torch.stack([torch.from_numpy(c.video) for c in clips])
        ids = [_caption_ids()[clip_caption(c)] for c in clips]
        return videos, torch.tensor(ids, dtype=torch.long)


def all_captions() -> list[str]:
    """Every caption of the vocabulary (10 digits × 8 directions × their bounce options)."""
    out = []
    for digit in range(10):
        for direction in DIRECTIONS:
            moving = [axis for axis in range(2) if direction[axis]]
            options = [()] + [(a,) for a in moving]
            if len(moving) == 2:
                options += [(0, 1), (1, 0)]
            out += [caption(Motion(digit, direction, bounces)) for bounces in options]
    return out
