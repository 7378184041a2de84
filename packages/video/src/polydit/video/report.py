"""`polydit-video eval --report DIR`: ``report.png``, what the prediction and interpolation
metrics saw.

Top: PSNR per frame index over the test clips, the model against its trivial baselines, for
prediction from the first `given` frames and for interpolation between the first and last (the
given frames are shaded: they are returned unchanged). Bottom: one test clip as filmstrips —
the truth, the prediction and the interpolation, the given frames framed in orange.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from torch import Tensor

from polydit.core.atomic import atomic_write
from polydit.video.metrics import interpolation_baselines, prediction_baselines, psnr

REPORT = "report.png"
GIVEN_COLOR = (1.0, 0.55, 0.0)


def write_report(
    out: Path, clips: Tensor, predicted: Tensor, interpolated: Tensor, given: int
) -> Path:
    """Draw `out`/report.png for test `clips` (B, T, 1, H, W) in [0, 1], the model's
    `predicted` continuations of their first `given` frames and `interpolated` in-betweens."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = clips.shape[1]
    figure = Figure(figsize=(10, 6.4), dpi=100, layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=(1, 1.15))
    tasks = (
        ("prediction", predicted, prediction_baselines(clips, given), range(given)),
        ("interpolation", interpolated, interpolation_baselines(clips), (0, t - 1)),
    )
    for axis, (task, model, baselines, held) in zip(top.subplots(1, 2), tasks, strict=True):
        frames = np.arange(t)
        for name, video in {"model": model, **baselines}.items():
            curve = psnr(video, clips).mean(0).numpy()
            free = np.array([i not in held for i in frames])
            style = {"linewidth": 2.2, "color": "black"} if name == "model" else {"linewidth": 1}
            axis.plot(frames[free], curve[free], marker="o", markersize=3, label=name, **style)
        for i in held:
            axis.axvspan(i - 0.5, i + 0.5, color=GIVEN_COLOR, alpha=0.15, linewidth=0)
        axis.set_title(f"{task}: PSNR per frame over {len(clips)} test clips", fontsize=9)
        axis.set_xlabel("frame (shaded: given)", fontsize=8)
        axis.set_ylabel("PSNR (dB)", fontsize=8)
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    rows = (("truth", clips[0], ()), ("prediction", predicted[0], range(given)))
    rows += (("interpolation", interpolated[0], (0, t - 1)),)
    for axis, (name, video, held) in zip(bottom.subplots(3, 1), rows, strict=True):
        axis.imshow(filmstrip(video, held), vmin=0, vmax=1)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    bottom.suptitle("test clip 0 (orange frame: given to the model)", fontsize=9)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return atomic_write(out / REPORT, lambda f: f.write(buffer.getvalue()))


def filmstrip(video: Tensor, given: tuple[int, ...] | range) -> np.ndarray:
    """(H+4, T·(W+4), 3) RGB: the frames of `video` (T, 1, H, W) side by side, each in a 2-pixel
    border, orange for the `given` frames."""
    t, _, h, w = video.shape
    strip = np.ones((h + 4, t * (w + 4), 3), dtype=np.float32)
    for i in range(t):
        x = i * (w + 4)
        if i in given:
            strip[:, x : x + w + 4] = GIVEN_COLOR
        strip[2 : 2 + h, x + 2 : x + 2 + w] = video[i, 0].clamp(0, 1).numpy()[..., None]
    return strip
