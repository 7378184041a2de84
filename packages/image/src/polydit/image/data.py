"""Image datasets: built-in digits and faces, and users' image folders.

Every dataset is an :class:`ImageSet`: images (N, C, H, W) float32 in [-1, 1] plus integer labels
(N,) and the class names. Built-ins ship with scikit-learn / scikit-image, so nothing downloads.

* ``digits``: scikit-learn ``load_digits`` — 1,797 real 8×8 handwritten digits (pixel values
  0..16, mapped to [-1, 1] by ``v / 8 - 1``), 10 classes. The fixed split is
  ``sklearn.model_selection.train_test_split(range(1797), test_size=360, stratify=target,
  random_state=0)``: 1,437 train and 360 test images (35–37 per class).
* ``faces``: scikit-image ``lfw_subset`` — 200 25×25 grayscale crops (the first 100 faces, the
  next 100 non-faces: classes "face" / "non-face"), centre-cropped to 24×24. The split keeps the
  last 20 of each class as test.
* a folder: PNG/JPEG/BMP/GIF files; with sub-folders each sub-folder is a class (sorted names),
  otherwise the set is unconditional (one class ""). Images are converted to grayscale or RGB,
  resized (shorter side) and centre-cropped to ``size``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.errors import DataError

BUILTINS = ("digits", "faces")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DIGITS_TEST_SIZE = 360
DIGIT_NAMES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class ImageSet:
    """images (N, C, H, W) float32 in [-1, 1]; labels (N,) long in [0, len(class_names))."""

    images: Tensor
    labels: Tensor
    class_names: tuple[str, ...]
    name: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return c, h, w

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """(images (K, C, H, W), labels (K,)) at `indices` — the Trainer's fast path."""
        return self.images[indices], self.labels[indices]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The fixed (train_indices, test_indices) of scikit-learn digits (1,437 / 360)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    target = load_digits().target
    train, test = train_test_split(
        np.arange(len(target)), test_size=DIGITS_TEST_SIZE, stratify=target, random_state=0
    )
    return np.sort(train), np.sort(test)


def load_digits_set(split: str = "train") -> ImageSet:
    """scikit-learn digits, `split` "train" | "test" | "all", scaled to [-1, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    idx = _split_indices(split, len(labels), digits_split)
    return ImageSet(images[idx], labels[idx], DIGIT_NAMES, f"digits/{split}")


def load_faces_set(split: str = "train") -> ImageSet:
    """scikit-image lfw_subset: 24×24 grayscale, classes face / non-face."""
    from skimage.data import lfw_subset

    raw = lfw_subset().astype(np.float32)[:, :24, :24]  # (200, 24, 24) in [0, 1]
    images = torch.from_numpy(raw * 2.0 - 1.0)[:, None]
    labels = torch.arange(200) // 100

    def split_fn() -> tuple[np.ndarray, np.ndarray]:
        test = np.r_[80:100, 180:200]
        return np.setdiff1d(np.arange(200), test), test

    idx = _split_indices(split, 200, split_fn)
    return ImageSet(images[idx], labels[idx], ("face", "non-face"), f"faces/{split}")


def _split_indices(split: str, n: int, split_fn) -> torch.Tensor:
    if split == "all":
        return torch.arange(n)
    if split not in ("train", "test"):
        raise DataError(f"split must be train|test|all, got {split!r}")
    train, test = split_fn()
    return torch.from_numpy(train if split == "train" else test)


def load_folder(
    root: str | Path,
    size: int,
    channels: int = 1,
    skip_bad: bool = False,
) -> tuple[ImageSet, list[str]]:
    """Images under `root` at `size`×`size` with `channels` (1 gray, 3 RGB).

    Returns the set and the files skipped (only with `skip_bad`; otherwise the first unreadable
    file, non-image or empty class raises :class:`DataError` naming it).
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: not a directory (expected a folder of images, or one of "
            f"{', '.join(BUILTINS)})"
        )
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels}")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(d.name, d) for d in subdirs] if subdirs else [("", root)]
    images, labels, skipped = [], [], []
    for label, (name, folder) in enumerate(groups):
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        kept = 0
        for path in files:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                if skip_bad:
                    skipped.append(str(path))
                    continue
                raise DataError(
                    f"{path}: not an image file (expected {', '.join(IMAGE_SUFFIXES)}); "
                    "remove it or pass --skip-bad"
                )
            try:
                with Image.open(path) as im:
                    im.load()
                    array = _fit(to_8bit(im).convert("L" if channels == 1 else "RGB"), size)
            except (
                UnidentifiedImageError,
                Image.DecompressionBombError,
                OSError,
                ValueError,
                SyntaxError,  # Pillow's PNG reader: "broken PNG file"
                EOFError,
                struct.error,
            ) as e:
                if skip_bad:
                    skipped.append(str(path))
                    continue
                raise DataError(
                    f"{path}: unreadable image ({e}); fix or remove it, or pass --skip-bad"
                ) from None
            images.append(array)
            labels.append(label)
            kept += 1
        if kept == 0:
            where = folder if name else root
            raise DataError(f"{where}: no readable images (an empty class)")
    stack = np.stack(images).astype(np.float32) / 127.5 - 1.0  # (N, H, W[, 3])
    tensor = torch.from_numpy(stack)
    tensor = tensor[:, None] if channels == 1 else tensor.permute(0, 3, 1, 2)
    names = tuple(name for name, _ in groups)
    return ImageSet(tensor.contiguous(), torch.tensor(labels), names, str(root)), skipped


def to_8bit(image: Any) -> Any:
    """`image` with 16- or 32-bit integer gray levels scaled to 8 bits (PIL's own convert("L")
    clips them at 255, so a 16-bit PNG would turn white); other modes unchanged."""
    from PIL import Image

    if image.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return image
    levels = np.asarray(image).astype(np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or levels.max() <= 65535 else 2.0**32 - 1
    return Image.fromarray(np.round(levels.clip(0, None) / top * 255).astype(np.uint8), "L")


def _fit(image, size: int) -> np.ndarray:
    """Resize the shorter side to `size` (bicubic) and centre-crop to size×size: uint8 array."""
    from PIL import Image

    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    image = image.resize(new, Image.Resampling.BICUBIC)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def load_dataset(
    data: str | None,
    split: str = "train",
    size: int = 32,
    channels: int = 1,
    skip_bad: bool = False,
) -> tuple[ImageSet, list[str]]:
    """A built-in set by name (default digits) or a folder; (set, skipped files)."""
    data = data or "digits"
    if data == "digits":
        return load_digits_set(split), []
    if data == "faces":
        return load_faces_set(split), []
    if not Path(data).exists():
        raise DataError(
            f"--data {data!r} is neither a built-in dataset ({', '.join(BUILTINS)}) "
            "nor an existing folder"
        )
    return load_folder(data, size, channels, skip_bad)
