"""The rollout filmstrip: evenly spaced frames with their step numbers, first and last kept."""

from __future__ import annotations

import numpy as np
from PIL import Image

from polydit.policy.recording import write_filmstrip


def test_the_filmstrip_shows_eight_frames_first_and_last_included(tmp_path) -> None:
    frames = [np.full((10, 12, 3), step, np.uint8) for step in range(30)]
    strip = Image.open(write_filmstrip(tmp_path / "f.png", frames)).convert("RGB")
    assert strip.size == (8 * 16, 28)
    assert strip.getpixel((0, 20)) == (0, 0, 0) and strip.getpixel((7 * 16, 20)) == (29, 29, 29)
    short = Image.open(write_filmstrip(tmp_path / "g.png", frames[:3]))
    assert short.size == (3 * 16, 28)
