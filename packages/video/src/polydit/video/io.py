"""Clip files: GIF (Pillow) and MP4 (PyAV/libx264) writers, atomic, plus a tiled strip PNG.

Clips are float (T, C, H, W) in [0, 1], C = 1 (grayscale) or 3 (RGB). `scale` enlarges every
frame by nearest-neighbour pixel repetition (small clips are unreadable at native size);
reading back (see :func:`polydit.video.data.read_clip`) at scale 1 returns the written pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from polydit.core.atomic import atomic_write
from polydit.core.errors import ConfigError


def to_uint8(clip: Tensor | np.ndarray, scale: int = 1) -> np.ndarray:
    """(T, C, H, W) float in [0, 1] → (T, H·scale, W·scale, 3) uint8."""
    array = clip.detach().cpu().numpy() if isinstance(clip, Tensor) else np.asarray(clip)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ConfigError(f"expected a clip (T, 1|3, H, W), got shape {array.shape}")
    frames = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    return frames


def write_gif(
    path: str | Path, clip: Tensor | np.ndarray, *, fps: float = 4, scale: int = 1
) -> Path:
    """Write a looping GIF atomically; returns the path.

    GIF encoders merge identical consecutive frames into one longer frame; the frame period is
    stored in the GIF comment (``frame_ms=``) so :func:`~polydit.video.data.read_clip` restores
    every frame.
    """
    from PIL import Image

    frames = [Image.fromarray(f) for f in to_uint8(clip, scale)]
    frame_ms = round(1000 / fps)

    def write(f: io.BufferedIOBase) -> None:
        frames[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=frame_ms,
            comment=f"polydit-video frame_ms={frame_ms}",
            loop=0,
            optimize=False,
            disposal=1,
        )

    return atomic_write(path, write)


def write_mp4(path: str | Path, clip: Tensor | np.ndarray, *, fps: int = 4, scale: int = 8) -> Path:
    """Write an H.264 MP4 (PyAV's bundled libx264, yuv420p) atomically; returns the path.

    The frame size is made even (as yuv420p needs) by `scale`; lossy, so not for round trips.
    """
    import av

    frames = to_uint8(clip, scale)
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        frames = frames.repeat(2, axis=1).repeat(2, axis=2)

    def write(f: io.BufferedIOBase) -> None:
        buffer = io.BytesIO()
        with av.open(buffer, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        f.write(buffer.getvalue())

    return atomic_write(path, write)


def write_strip(path: str | Path, clips: list[Tensor], *, scale: int = 2, gap: int = 1) -> Path:
    """A PNG with one row per clip and one column per frame (a contact sheet)."""
    from PIL import Image

    rows = [to_uint8(c, scale) for c in clips]
    t, h, w, _ = rows[0].shape
    sheet = np.full((len(rows) * (h + gap) - gap, t * (w + gap) - gap, 3), 128, np.uint8)
    for r, frames in enumerate(rows):
        for i, frame in enumerate(frames):
            sheet[r * (h + gap) : r * (h + gap) + h, i * (w + gap) : i * (w + gap) + w] = frame
    image = Image.fromarray(sheet)
    return atomic_write(path, lambda f: image.save(f, format="PNG"))


def stack(clips: list[np.ndarray]) -> Tensor:
    """Clips (T, C, H, W) → one (B, T, C, H, W) float tensor."""
    return torch.from_numpy(np.stack(clips)).float()
