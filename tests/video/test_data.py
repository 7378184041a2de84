"""Moving digits are deterministic and physically right; user clip folders fail clearly."""

from pathlib import Path

import numpy as np
import pytest

from polydit.core.errors import DataError
from polydit.video.data import (
    ClipFolder,
    MovingDigits,
    MovingDigitsConfig,
    eval_set,
    load_clip,
    make_clip,
    read_clip,
)
from polydit.video.io import write_gif, write_mp4

CONFIG = MovingDigitsConfig(frames=8, size=24, max_digits=2)


def test_clips_are_deterministic_and_splits_differ() -> None:
    a, b = make_clip(CONFIG, "train", 5), make_clip(CONFIG, "train", 5)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.video, make_clip(CONFIG, "test", 5).video)
    assert [c.video.tobytes() for c in eval_set(CONFIG, 3)] == [
        make_clip(CONFIG, "test", i).video.tobytes() for i in range(3)
    ]


def test_digits_move_with_constant_velocity_and_bounce() -> None:
    limit = CONFIG.size - CONFIG.digit_size
    for i in range(20):
        clip = make_clip(CONFIG, "train", i)
        n = int((clip.labels >= 0).sum())
        assert 1 <= n <= 2 and clip.video.shape == (8, 1, 24, 24)
        assert clip.video.min() >= 0 and clip.video.max() <= 1
        steps = np.abs(np.diff(clip.positions[:, :n], axis=0))  # (T-1, n, 2)
        assert (steps <= CONFIG.max_speed).all()
        assert (clip.positions >= 0).all() and (clip.positions <= limit).all()
        for d in range(n):  # speed per axis is constant: bounces only flip the direction
            speed = np.abs(clip.velocity[d])
            unbounced = (clip.positions[1:, d] - clip.positions[:-1, d]) != 0
            assert (steps[:, d][unbounced] <= speed[None].repeat(7, 0)[unbounced]).all()


def test_dataset_batches() -> None:
    import torch

    ds = MovingDigits(CONFIG, "train", length=10)
    batch = ds.batch(torch.tensor([1, 3]))
    assert batch.shape == (2, 8, 1, 24, 24)
    assert torch.equal(batch[1], ds[3])


def test_gif_round_trip_is_exact(tmp_path: Path) -> None:
    clip = np.round(make_clip(CONFIG, "test", 0).video * 255) / 255
    clip[3:5] = clip[2]  # identical consecutive frames, which GIF encoders merge
    write_gif(tmp_path / "a.gif", clip)
    frames = read_clip(tmp_path / "a.gif")
    assert frames.shape == (8, 24, 24, 3)
    assert np.array_equal(frames[..., 0], np.round(clip[:, 0] * 255).astype(np.uint8))
    assert not list(tmp_path.glob(".tmp-*"))


def test_mp4_and_gif_folders_resample(tmp_path: Path) -> None:
    clip = make_clip(CONFIG, "test", 1).video
    write_gif(tmp_path / "a.gif", clip, scale=2)
    write_mp4(tmp_path / "sub" / "b.mp4", clip)
    folder = ClipFolder(tmp_path, num_frames=4, size=12)
    assert len(folder) == 2 and folder[0].shape == (4, 1, 12, 12)
    back = load_clip(tmp_path / "a.gif", 8, 24, 1)
    assert np.abs(back - clip).max() < 1e-2  # 2× GIF read back by area averaging: exact to 8 bits
    assert np.abs(load_clip(tmp_path / "sub" / "b.mp4", 8, 24, 1) - clip).mean() < 0.03


def test_bad_clip_files_raise_errors_naming_them(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gif"
    bad.write_bytes(b"not a gif")
    with pytest.raises(DataError, match=r"broken\.gif"):
        read_clip(bad)
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match=r"broken\.mp4"):
        read_clip(tmp_path / "broken.mp4")
    with pytest.raises(DataError, match=r"missing\.gif"):
        read_clip(tmp_path / "missing.gif")
    with pytest.raises(DataError, match="broken"):
        ClipFolder(tmp_path, 8, 24)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no clips found"):
        ClipFolder(empty, 8, 24)


def test_a_gif_frame_too_large_to_decode_is_refused_before_decoding(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: a flipped byte made a 4×4 GIF's frame 5463×32665 pixels,
    which took many seconds and half a gigabyte to decode."""
    clip = np.random.default_rng(0).uniform(0, 1, (3, 1, 4, 4))
    data = bytearray(write_gif(tmp_path / "ok.gif", clip).read_bytes())
    # the last frame's image descriptor: ',' left top width height (little-endian u16)
    at = data.rindex(b",\x00\x00\x00\x00\x04\x00\x04\x00")
    data[at + 5 : at + 9] = (5000).to_bytes(2, "little") * 2
    (tmp_path / "huge.gif").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"huge\.gif: frame 2 is 5000×5000 pixels, more than"):
        read_clip(tmp_path / "huge.gif")
