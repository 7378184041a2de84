from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from polydit.core.errors import DataError
from polydit.image.data import digits_split, load_dataset, load_digits_set, load_folder


def test_digits_split_is_fixed_disjoint_and_stratified() -> None:
    train, test = digits_split()
    assert len(train) == 1437 and len(test) == 360
    assert not set(train) & set(test)
    test_set = load_digits_set("test")
    counts = torch.bincount(test_set.labels)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: 20% of each class
    assert test_set.images.shape == (360, 1, 8, 8)
    assert test_set.images.min() == -1 and test_set.images.max() == 1
    assert np.array_equal(digits_split()[1], test)


def test_faces_builtin() -> None:
    faces, _ = load_dataset("faces", "test")
    assert faces.images.shape == (40, 1, 24, 24)
    assert faces.class_names == ("face", "non-face")


def _write(path: Path, value: int, size: tuple[int, int] = (12, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, dtype=np.uint8)).save(path)


def _folder(root: Path) -> Path:
    for i in range(3):
        _write(root / "cats" / f"c{i}.png", 0)
        _write(root / "dogs" / f"d{i}.jpg", 255)
    return root


def test_folder_classes_are_subfolders_resized_and_cropped(tmp_path: Path) -> None:
    data, skipped = load_folder(_folder(tmp_path), size=8)
    assert data.class_names == ("cats", "dogs") and skipped == []
    assert data.images.shape == (6, 1, 8, 8)
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.images[0].max() == -1 and data.images[-1].min() > 0.95


def test_corrupt_file_is_named_or_skipped(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    bad = root / "dogs" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"broken\.png"):
        load_folder(root, size=8)
    data, skipped = load_folder(root, size=8, skip_bad=True)
    assert len(data) == 6 and skipped == [str(bad)]


def test_non_image_and_empty_class_are_errors(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    (root / "cats" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt"):
        load_folder(root, size=8)
    (root / "cats" / "notes.txt").unlink()
    (root / "birds").mkdir()
    with pytest.raises(DataError, match="birds"):
        load_folder(root, size=8)


def test_flat_folder_is_unconditional_and_rgb_works(tmp_path: Path) -> None:
    for i in range(2):
        _write(tmp_path / f"x{i}.png", 128)
    data, _ = load_folder(tmp_path, size=4, channels=3)
    assert data.class_names == ("",) and data.images.shape == (2, 3, 4, 4)


def test_unknown_data_name_is_an_error() -> None:
    with pytest.raises(DataError, match="neither a built-in"):
        load_dataset("mnist-please")


def test_a_16_bit_png_keeps_its_gray_levels(tmp_path):
    import numpy as np
    from PIL import Image

    from polydit.image.data import load_dataset

    levels = np.array([[0, 16384], [32768, 65535]], dtype=np.uint16).repeat(16, 0).repeat(16, 1)
    (tmp_path / "set" / "x").mkdir(parents=True)
    Image.fromarray(levels).save(tmp_path / "set" / "x" / "a.png")  # a 16-bit grayscale PNG
    data, _ = load_dataset(str(tmp_path / "set"), size=32)
    got = data.images[0, 0, ::16, ::16].flatten().tolist()  # 0, 1/4, 1/2, 1 of full scale
    assert got == pytest.approx([-1.0, -0.4980, 0.0039, 1.0], abs=2e-3)


def test_a_png_with_a_broken_chunk_is_named(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: Pillow raises SyntaxError ("broken PNG file") when an IDAT
    chunk is followed by a chunk header that is not one."""
    import struct
    import zlib

    from polydit.image.io import png_bytes

    data = png_bytes(np.arange(36, dtype=np.uint8).reshape(6, 6))
    at = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[at : at + 4])
    body = data[at + 8 : at + 8 + length]
    head = b"IDAT" + body[:2]
    broken = struct.pack(">I", 2) + head + struct.pack(">I", zlib.crc32(head))
    broken += b"\x00\x00\x00\x04@g\x02\xd5" + body[2:]
    folder = tmp_path / "set" / "digits"
    folder.mkdir(parents=True)
    (folder / "broken.png").write_bytes(data[:at] + broken + data[at + 12 + length :])
    with pytest.raises(DataError, match=r"broken\.png: unreadable image"):
        load_folder(tmp_path / "set", 8)
