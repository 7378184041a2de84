"""eval --report: the video figure (PSNR per frame, filmstrips with the given frames marked)."""

from __future__ import annotations

import torch
from PIL import Image

from polydit.video.report import GIVEN_COLOR, filmstrip, write_report


def test_filmstrip_frames_the_given_frames_and_keeps_the_pixels() -> None:
    video = torch.rand(3, 1, 5, 6)
    strip = filmstrip(video, (0,))
    assert strip.shape == (9, 3 * 10, 3)
    assert tuple(strip[0, 0]) == GIVEN_COLOR and tuple(strip[0, 10]) == (1.0, 1.0, 1.0)
    assert torch.allclose(torch.from_numpy(strip[2:7, 12:18, 0]), video[1, 0])


def test_the_report_is_one_png_in_the_directory(tmp_path) -> None:
    clips = torch.rand(4, 8, 1, 16, 16)
    noisy = (clips + 0.1 * torch.randn_like(clips)).clamp(0, 1)
    png = write_report(tmp_path, clips, noisy, noisy, given=4)
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]
    assert Image.open(png).size == (1000, 640)
