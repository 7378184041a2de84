"""Video datasets: procedural "moving digits" and folders of users' GIF/MP4 clips.

A clip is a float32 array (T, C, H, W) in [0, 1] (0 = black background).

Moving digits follows the Moving-MNIST recipe on scikit-learn's 8×8 digits (which ship inside the
scikit-learn wheel, so nothing is downloaded): 1–2 digits start at random integer positions on a
larger black canvas, move with a constant integer velocity and bounce elastically off the walls;
overlapping digits are composited with max. Clip ``i`` of a split is a pure function of
``(seed, split, i)``; the train split draws digit images from the first 1500 scikit-learn
digits and the test split from the remaining 297, so test clips show unseen handwriting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError, DataError

TRAIN_DIGITS = (
    1500  # scikit-learn digits [0, 1500) feed the train split, [1500, 1797) the test split
)
SPLITS = {"train": 0, "test": 1}
CLIP_SUFFIXES = (".gif", ".mp4", ".webm", ".avi", ".mov", ".mkv")
MAX_FRAME_PIXELS = 4096 * 4096  # a larger frame is refused before it is decoded
MAX_CLIP_PIXELS = 2**27  # all frames of a clip together (384 MiB as RGB)


@dataclass(frozen=True)
class MovingDigitsConfig(JsonConfig):
    """Moving digits: `frames` frames of a `size`×`size` canvas with 1..`max_digits` digits of
    `digit_size`×`digit_size` pixels, each moving by an integer velocity in
    [-max_speed, max_speed]² (never (0, 0)) and bouncing off the walls."""

    frames: int = 8
    size: int = 24
    digit_size: int = 8
    min_digits: int = 1
    max_digits: int = 1
    max_speed: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.min_digits <= self.max_digits:
            raise ConfigError(
                f"MovingDigitsConfig: need 1 <= min_digits <= max_digits, got "
                f"{self.min_digits}..{self.max_digits}"
            )
        if self.digit_size > self.size:
            raise ConfigError(
                f"MovingDigitsConfig.digit_size={self.digit_size} exceeds size={self.size}"
            )
        if self.frames < 2 or self.max_speed < 1:
            raise ConfigError("MovingDigitsConfig: need frames >= 2 and max_speed >= 1")


@dataclass
class Clip:
    """One moving-digits clip and its ground truth.

    video:     (T, 1, H, W) float32 in [0, 1].
    labels:    (D,) digit classes, -1 for absent digits (D = max_digits).
    positions: (T, D, 2) top-left (y, x) of each digit per frame (0 for absent digits).
    velocity:  (D, 2) initial (vy, vx).
    """

    video: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    velocity: np.ndarray


@lru_cache(maxsize=4)
def digit_images(digit_size: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digits as (1797, s, s) float32 in [0, 1] and their (1797,) labels."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    if digit_size != 8:
        images = np.stack(
            [
                np.asarray(
                    Image.fromarray(im).resize((digit_size, digit_size), Image.Resampling.BILINEAR)
                )
                for im in images
            ]
        )
    return np.clip(images, 0.0, 1.0).astype(np.float32), digits.target.astype(np.int64)


def _bounce(p: int, v: int, limit: int) -> tuple[int, int]:
    p += v
    if p < 0:
        p, v = -p, -v
    elif p > limit:
        p, v = 2 * limit - p, -v
    return p, v


def make_clip(config: MovingDigitsConfig, split: str, index: int) -> Clip:
    """Clip `index` of `split` ("train" | "test"): a pure function of (config, split, index)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    images, targets = digit_images(config.digit_size)
    pool = np.arange(TRAIN_DIGITS) if split == "train" else np.arange(TRAIN_DIGITS, len(images))
    rng = np.random.default_rng([config.seed, SPLITS[split], index])
    n = int(rng.integers(config.min_digits, config.max_digits + 1))
    limit = config.size - config.digit_size
    t, d, s = config.frames, config.max_digits, config.digit_size
    video = np.zeros((t, 1, config.size, config.size), np.float32)
    labels = np.full(d, -1, np.int64)
    positions = np.zeros((t, d, 2), np.int64)
    velocity = np.zeros((d, 2), np.int64)
    speeds = [v for v in range(-config.max_speed, config.max_speed + 1)]
    for k in range(n):
        which = int(rng.choice(pool))
        labels[k] = targets[which]
        p = [int(x) for x in rng.integers(0, limit + 1, size=2)]
        v = [0, 0]
        while v == [0, 0]:
            v = [int(rng.choice(speeds)), int(rng.choice(speeds))]
        velocity[k] = v
        for f in range(t):
            positions[f, k] = p
            y, x = p
            window = video[f, 0, y : y + s, x : x + s]
            np.maximum(window, images[which], out=window)
            for axis in range(2):
                p[axis], v[axis] = _bounce(p[axis], v[axis], limit)
    return Clip(video, labels, positions, velocity)


class MovingDigits:
    """Map-style dataset of `length` moving-digits clips of `split`, generated on access.

    ``dataset[i]`` is a (T, 1, H, W) float32 tensor; ``dataset.batch(indices)`` stacks them, or
    with ``labels=True`` returns (clips (K, T, 1, H, W), first-digit labels (K,) int64).
    """

    def __init__(
        self,
        config: MovingDigitsConfig,
        split: str = "train",
        length: int = 1_000_000,
        *,
        labels: bool = False,
    ):
        self.config, self.split, self.length, self.labels = config, split, length, labels

    def __len__(self) -> int:
        return self.length

    def clip(self, index: int) -> Clip:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return make_clip(self.config, self.split, index)

    def __getitem__(self, index: int) -> Tensor:
        return torch.from_numpy(self.clip(index).video)

    def batch(self, indices: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """(K, T, 1, H, W) clips at `indices` (K,) (and their (K,) labels with ``labels``)."""
        clips = [self.clip(int(i)) for i in indices]
        videos = torch.stack([torch.from_numpy(c.video) for c in clips])
        if not self.labels:
            return videos
        return videos, torch.tensor([int(c.labels[0]) for c in clips], dtype=torch.long)


def eval_set(config: MovingDigitsConfig, num: int = 128) -> list[Clip]:
    """The fixed evaluation set: the first `num` clips of the test split."""
    return [make_clip(config, "test", i) for i in range(num)]


# --- users' clips ----------------------------------------------------------------------------


def read_clip(path: str | Path) -> np.ndarray:
    """All frames of a GIF/MP4/... file as uint8 (T, H, W, 3); DataError naming the file.

    GIF frames are put on a constant frame rate: a frame shown k times as long as the frame
    period is repeated k times, which undoes the merging of identical consecutive frames that
    GIF writers do. The period is the ``frame_ms=`` of the GIF comment our writer stores, else
    the gcd of all frame durations (frames are not repeated when that would exceed
    MAX_CLIP_PIXELS). A frame of more than MAX_FRAME_PIXELS, or a clip of more than
    MAX_CLIP_PIXELS as decoded, is a DataError before it fills memory.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such clip file")
    try:
        frames = _read_gif(path) if path.suffix.lower() == ".gif" else _read_av(path)
    except DataError:
        raise
    except Exception as e:  # Pillow/PyAV raise many types for unreadable files
        raise DataError(
            f"{path}: not a readable video clip ({type(e).__name__}: {e}); "
            f"expected a GIF or an MP4/WebM/AVI/MOV/MKV file"
        ) from None
    if len(frames) == 0:
        raise DataError(f"{path}: the clip has no frames")
    return frames


def _read_gif(path: Path) -> np.ndarray:
    from math import gcd

    from PIL import Image, ImageSequence

    frames, durations = [], []
    with Image.open(path) as image:
        if image.format != "GIF":
            raise DataError(f"{path}: expected a GIF file, found {image.format}")
        comment = image.info.get("comment", b"")
        budget = _PixelBudget(path)
        for frame in ImageSequence.Iterator(image):
            budget.take(*frame.size)
            frames.append(np.asarray(frame.convert("RGB")))
            durations.append(max(int(frame.info.get("duration", 0) or 0), 0))
    unit = 0
    for d in durations:
        unit = gcd(unit, d)
    found = re.search(rb"frame_ms=(\d+)", comment if isinstance(comment, bytes) else b"")
    if found and int(found.group(1)) > 0:
        unit = int(found.group(1))
    repeats = [max(d // unit, 1) for d in durations] if unit else [1] * len(frames)
    pixels = sum(k * f.shape[0] * f.shape[1] for f, k in zip(frames, repeats, strict=True))
    if sum(repeats) > 10_000 or pixels > MAX_CLIP_PIXELS:
        repeats = [1] * len(frames)
    return np.stack([f for f, k in zip(frames, repeats, strict=True) for _ in range(k)])


def _read_av(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise DataError(f"{path}: the file has no video stream")
        budget = _PixelBudget(path)
        frames = []
        for frame in container.decode(video=0):
            budget.take(frame.width, frame.height)
            frames.append(frame.to_ndarray(format="rgb24"))
    return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)


class _PixelBudget:
    """Counts a clip's frames as they are decoded; a DataError naming the file when one frame
    has more than MAX_FRAME_PIXELS or all of them more than MAX_CLIP_PIXELS."""

    def __init__(self, path: Path) -> None:
        self.path, self.frames, self.pixels = path, 0, 0

    def take(self, width: int, height: int) -> None:
        if width * height > MAX_FRAME_PIXELS:
            raise DataError(
                f"{self.path}: frame {self.frames} is {width}×{height} pixels, more than "
                f"{MAX_FRAME_PIXELS:,} (4096×4096); resize the clip first"
            )
        self.frames += 1
        self.pixels += width * height
        if self.pixels > MAX_CLIP_PIXELS:
            raise DataError(
                f"{self.path}: more than {MAX_CLIP_PIXELS:,} pixels in its first {self.frames} "
                "frames; shorten or resize the clip first"
            )


def resample_clip(frames: np.ndarray, num_frames: int, size: int, channels: int) -> np.ndarray:
    """uint8 (T', H', W', 3) → float32 (num_frames, channels, size, size) in [0, 1].

    Frames are picked evenly over the clip (repeated if it is shorter); each frame is resized
    by area averaging when its sides are integer multiples of `size` (so a clip written with
    ``scale=k`` reads back exactly), else bilinearly; channels = 1 converts to luminance
    (ITU-R 601).
    """
    from PIL import Image

    picks = np.round(np.linspace(0, len(frames) - 1, num_frames)).astype(int)
    h, w = frames.shape[1:3]
    exact = h % size == 0 and w % size == 0
    method = Image.Resampling.BOX if exact else Image.Resampling.BILINEAR
    out = []
    for i in picks:
        image = Image.fromarray(frames[i]).convert("L" if channels == 1 else "RGB")
        image = image.resize((size, size), method)
        array = np.asarray(image, np.float32) / 255.0
        out.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def load_clip(path: str | Path, num_frames: int, size: int, channels: int) -> np.ndarray:
    """A user's clip file resampled to (num_frames, channels, size, size) float32 in [0, 1]."""
    return resample_clip(read_clip(path), num_frames, size, channels)


class ClipFolder:
    """Every GIF/MP4/WebM/AVI/MOV/MKV clip under `root` (recursively), resampled on load.

    Every file is decoded once when the dataset is built, so a bad file fails at once with a
    DataError naming it (not hours into a training run).
    """

    def __init__(self, root: str | Path, num_frames: int, size: int, channels: int = 1):
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"{root}: not a directory of GIF/MP4 clips")
        self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in CLIP_SUFFIXES)
        if not self.files:
            raise DataError(f"{root}: no clips found (looked for {', '.join(CLIP_SUFFIXES)} files)")
        self.clips = [
            torch.from_numpy(load_clip(p, num_frames, size, channels)) for p in self.files
        ]

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Tensor:
        return self.clips[index]

    def batch(self, indices: Tensor) -> Tensor:
        return torch.stack([self.clips[int(i)] for i in indices])
