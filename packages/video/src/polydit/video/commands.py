"""What the CLI verbs do (imported lazily by :mod:`polydit.video.cli`, which must stay light)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.atomic import atomic_write, atomic_write_text
from polydit.core.cli import SAMPLES_FILE, GalleryItem, output_directory
from polydit.core.errors import ConfigError
from polydit.video.data import MovingDigitsConfig, eval_set, load_clip, make_clip
from polydit.video.io import write_gif, write_mp4, write_strip
from polydit.video.pipeline import VideoGenerator
from polydit.video.report import filmstrip

GIF_SCALE = 4  # frames are enlarged 4× in written GIFs/MP4s (24 px is tiny on screen)
TASK_RESULTS = {"predict": "predictions", "interpolate": "interpolations"}  # what a task writes


def write_clip(out: Path, name: str, clip: Tensor, *, mp4: bool = False) -> list[str]:
    """Write `name`.gif (and `name`.mp4) into `out`; returns the file names."""
    files = [write_gif(out / f"{name}.gif", clip, scale=GIF_SCALE).name]
    if mp4:
        files.append(write_mp4(out / f"{name}.mp4", clip, scale=GIF_SCALE * 2).name)
    return files


def sample(generator: VideoGenerator, opts: Any, out: Path) -> list[dict[str, Any]]:
    digit = opts.extra.get("digit", -1)
    labels = None if digit < 0 else torch.tensor([digit])
    prompts = opts.extra.get("prompt") or None
    frames = opts.extra.get("frames")
    if frames is not None and (prompts is None or len(prompts) < 2):
        raise ConfigError("--frames: only for multi-prompt clips (give --prompt twice or more)")
    if prompts is not None and len(prompts) > 1:
        from polydit.video.multiprompt import sample_prompts

        clips = sample_prompts(
            generator, prompts, opts.num, frames=frames, seed=opts.seed, **opts.generation()
        )
    else:
        clips = generator.sample(
            opts.num,
            seed=opts.seed,
            labels=labels,
            prompts=None if prompts is None else prompts[0],
            **opts.generation(),
        ).clips
    conditioning: dict[str, Any] = {} if labels is None else {"digit": digit}
    if prompts is not None:
        conditioning["prompts" if len(prompts) > 1 else "prompt"] = (
            prompts if len(prompts) > 1 else prompts[0]
        )
    records = []
    for i, clip in enumerate(clips):
        files = write_clip(out, f"clip_{opts.first + i:03d}", clip, mp4=opts.extra["mp4"])
        records.append(
            {"file": files[0], "files": files, "seed": opts.seed + i, "conditioning": conditioning}
        )
    if opts.first == 0:
        write_strip(out / "strip.png", list(clips))
    return records


def read_input(generator: VideoGenerator, path: Path) -> Tensor:
    """A user's clip resampled to the model's frames/size/channels: (1, T, C, H, W)."""
    c = generator.codec
    return torch.from_numpy(load_clip(path, c.frames, c.size, c.channels))[None]


def run_task(
    generator: VideoGenerator,
    task: str,
    clip: Path,
    out: Path,
    *,
    given: int | None,
    num: int,
    seed: int,
    overrides: dict[str, Any],
    mp4: bool = False,
) -> list[dict[str, Any]]:
    """`num` results of `task` on `clip` (after resampling), written into `out`: "predict"
    continues it from its first `given` frames, "interpolate" fills in between its first and
    last frames."""
    video = read_input(generator, clip)
    batch = video.expand(num, -1, -1, -1, -1)
    conditioning: dict[str, Any] = {"input": str(clip)}
    if task == "predict":
        results = generator.predict(batch, given, seed=seed, **overrides).clips
        conditioning["given"] = given
    else:
        results = generator.interpolate(batch[:, 0], batch[:, -1], seed=seed, **overrides).clips
    return _write_results(out, task, video[0], results, seed, conditioning, mp4)


def _write_results(
    out: Path,
    task: str,
    video: Tensor,
    results: Tensor,
    seed: int,
    conditioning: dict[str, Any],
    mp4: bool,
) -> list[dict[str, Any]]:
    with output_directory(out) as staging:
        write_clip(staging, "input", video)
        records = []
        for i, clip in enumerate(results):
            files = write_clip(staging, f"{task}_{i:03d}", clip, mp4=mp4)
            records.append(
                {"file": files[0], "files": files, "seed": seed + i, "task": task,
                 "conditioning": conditioning}
            )  # fmt: skip
        write_strip(staging / "strip.png", [video, *results])
        atomic_write_text(staging / SAMPLES_FILE, json.dumps(records, indent=2) + "\n")
    return records


def data_config(generator: VideoGenerator) -> MovingDigitsConfig:
    """The moving-digits set of the model's codec, whose test clips eval and demo use."""
    if generator.codec.data is None:
        raise ConfigError(
            "this model was not trained on moving digits: eval and demo need its test set"
        )
    return generator.codec.data


def evaluate(generator: VideoGenerator, opts: Any) -> dict[str, float]:
    from polydit.video.classifier import load_classifier
    from polydit.video.metrics import evaluate as run

    clips = eval_set(data_config(generator), opts.num or 128)
    classifier = load_classifier()
    out = run(
        generator,
        clips,
        classifier,
        given=opts.extra["given"],
        num_unconditional=opts.extra["unconditional"],
        seed=opts.seed,
        report=opts.report,
        given_scale=opts.extra["given_scale"],
        **opts.generation(),
    )
    if generator.is_text or opts.extra["adherence"]:
        from polydit.video.adherence import evaluate_adherence

        out |= evaluate_adherence(generator, clips, classifier, seed=opts.seed, **opts.generation())
    return out


def data_show(opts: Any) -> None:
    if opts.data not in (None, "moving-digits"):
        from polydit.video.data import ClipFolder

        folder = ClipFolder(opts.data, opts.extra["frames"], opts.extra["size"])
        print(f"{opts.data}: {len(folder)} clips, resampled to {tuple(folder[0].shape)}")
        clips = [folder[i] for i in range(min(opts.num, len(folder)))]
        names = [str(p) for p in folder.files[: len(clips)]]
    else:
        config = MovingDigitsConfig(frames=opts.extra["frames"], size=opts.extra["size"])
        print(
            f"moving-digits: {config.frames} frames of {config.size}×{config.size}, "
            f"{config.min_digits}-{config.max_digits} scikit-learn digit(s) of "
            f"{config.digit_size}×{config.digit_size}, speed ≤ {config.max_speed} px/frame, "
            f"seed {config.seed}; train digits 0-1499, test digits 1500-1796"
        )
        split = opts.extra["split"]
        raw = [make_clip(config, split, opts.seed + i) for i in range(opts.num)]
        clips = [torch.from_numpy(c.video) for c in raw]
        names = [
            f"{split}[{opts.seed + i}]: digit {c.labels[0]}, start {c.positions[0, 0].tolist()}, "
            f"velocity {c.velocity[0].tolist()}"
            for i, c in enumerate(raw)
        ]
    for name in names:
        print(name)
    if opts.out is not None:
        for i, clip in enumerate(clips):
            write_clip(opts.out, f"data_{i:03d}", clip)
        write_strip(opts.out / "strip.png", clips)
        print(f"wrote {len(clips)} GIFs and strip.png to {opts.out}")


def demo(generator: VideoGenerator, out: Path, *, seed: int) -> list[GalleryItem]:
    """Unconditional, predicted and interpolated clips, each next to its ground truth."""
    out.mkdir(parents=True, exist_ok=True)
    items = []
    samples = generator.sample(4, seed=seed).clips
    for i, clip in enumerate(samples):
        write_gif(out / f"sample_{i}.gif", clip, scale=GIF_SCALE)
        items.append(
            GalleryItem(
                Path(f"sample_{i}.gif"),
                f"unconditional moving digit (seed {seed + i})",
                f"polydit-video sample --num 4 --seed {seed} --dtype fp32 --out samples",
            )
        )
    clips = eval_set(data_config(generator), 3)
    for i, clip in enumerate(clips):
        video = torch.round(torch.from_numpy(clip.video) * 255) / 255  # as a GIF stores it
        write_gif(out / f"truth_{i}.gif", video, scale=GIF_SCALE)
        predicted = generator.predict(video[None], 4, seed=seed).clips[0]
        write_gif(out / f"predict_{i}.gif", predicted, scale=GIF_SCALE)
        items += [
            GalleryItem(
                Path(f"truth_{i}.gif"),
                f"test clip {i} (digit {clip.labels[0]}): ground truth",
                "polydit-video data show --split test --num 3 --out data",
            ),
            GalleryItem(
                Path(f"predict_{i}.gif"),
                f"test clip {i}: frames 5-8 predicted from the first 4",
                f"polydit-video predict --input data/data_{i:03d}.gif --given 4 --seed {seed} --dtype fp32 --out predict",
            ),
        ]
        write_comparison(out / f"compare_{i}.png", video, predicted, given=4)
        items.append(
            GalleryItem(
                Path(f"compare_{i}.png"),
                f"test clip {i}: truth (top) and prediction (bottom) frame by frame; orange: "
                "the 4 given frames",
                f"polydit-video predict --input data/data_{i:03d}.gif --given 4 --seed {seed} --dtype fp32 --out predict",
            )
        )
        if i == 0:
            inter = generator.interpolate(video[None, 0], video[None, -1], seed=seed).clips[0]
            write_gif(out / "interpolate_0.gif", inter, scale=GIF_SCALE)
            items.append(
                GalleryItem(
                    Path("interpolate_0.gif"),
                    "test clip 0: frames 2-7 interpolated from the first and last",
                    f"polydit-video interpolate --input data/data_000.gif --seed {seed} --dtype fp32 --out interpolate",
                )
            )
    return items


def write_comparison(path: Path, truth: Any, predicted: Any, *, given: int, scale: int = 4) -> Path:
    """A PNG of two filmstrips, `truth` above `predicted` (T, 1, H, W) in [0, 1], the first
    `given` frames framed in orange, magnified `scale`× (nearest)."""
    from PIL import Image

    rows = [filmstrip(truth, ()), filmstrip(predicted, range(given))]
    page = np.concatenate(rows, axis=0).repeat(scale, 0).repeat(scale, 1)
    buffer = io.BytesIO()
    Image.fromarray((page * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))
