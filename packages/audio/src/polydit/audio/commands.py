"""What the `polydit-audio` verbs do once their flags are parsed (imported by :mod:`.cli` on use,
so ``--help`` imports no torch): write samples, inpaint a user's clip, show a dataset, demo.

Every sample is one 16-bit PCM mono WAV at the model's rate, and ``spectrograms.png`` shows
their log-mel spectrograms (:mod:`.spectrograms`); ``samples.json`` (written by the
core CLI from the returned records) has per file ``{"file", "seed", "conditioning": {"label":
class name, "voice": voice name (voice-conditioned models, when given)}}``; inpainting adds
``"span": [start, end]`` in seconds and ``"input"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import typer

from polydit.audio.io import read_audio, write_wav
from polydit.audio.pipeline import AudioGenerator, AudioSamples
from polydit.audio.spectrograms import save_spectrograms
from polydit.audio.waveform import fit_length, resample
from polydit.core.cli import DataOptions, GalleryItem, GenerationOptions, SampleOptions
from polydit.core.errors import ConfigError


def conditioning(generator: AudioGenerator, samples: AudioSamples, i: int) -> dict[str, Any]:
    """The samples.json conditioning of sample i: class and voice names where set."""
    record: dict[str, Any] = {}
    label, voice = int(samples.labels[i]), int(samples.voices[i])
    if label >= 0:
        record["label"] = generator.codec.class_names[label]
    if voice >= 0:
        record["voice"] = generator.codec.voice_names[voice]
    return record


def write_samples(
    generator: AudioGenerator,
    samples: AudioSamples,
    out: Path,
    seed: int,
    prefix: str = "sample",
    first: int = 0,
) -> list[dict[str, Any]]:
    """One WAV per clip (numbered from `first`) into `out`, and spectrograms.png of the first
    batch (`first` 0); the samples.json records."""
    if first == 0:
        save_spectrograms(out / "spectrograms.png", samples.waveforms, generator.codec.mel)
    records = []
    for i, wave in enumerate(samples.waveforms):
        name = f"{prefix}_{first + i:04d}.wav"
        write_wav(out / name, wave, samples.sample_rate)
        records.append(
            {"file": name, "seed": seed + i, "conditioning": conditioning(generator, samples, i)}
        )
    return records


def sample(generator: AudioGenerator, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
    """``sample --num N [--label NAME|ID] [--voice NAME|ID]``: N clips, labels uniform when
    --label is omitted, any voice when --voice is."""
    extra = opts.extra
    labels = None if extra.get("label") is None else generator.label_index(extra["label"])
    voices = None if extra.get("voice") is None else generator.voice_index(extra["voice"])
    samples = generator.sample(opts.num, labels, voices=voices, seed=opts.seed, **opts.generation())
    return write_samples(generator, samples, out, opts.seed, first=opts.first)


def read_clip(path: Path, generator: AudioGenerator) -> torch.Tensor:
    """A user's WAV/FLAC as (L,) at the model's rate and length (cropped or zero-padded)."""
    wave, rate = read_audio(path, downmix=True)
    return fit_length(resample(wave, rate, generator.sample_rate), generator.codec.num_samples)


def inpaint(
    generator: AudioGenerator,
    opts: GenerationOptions,
    source: Path,
    start: float,
    end: float,
    num: int,
    out: Path,
) -> list[dict[str, Any]]:
    """Fill seconds [start, end) of `source` `num` times (seeds seed … seed + num − 1)."""
    seconds = generator.codec.num_samples / generator.sample_rate
    if not 0 <= start < end <= seconds:
        raise ConfigError(
            f"--start {start:g} / --end {end:g}: need 0 <= start < end <= {seconds:g} s "
            "(the model's clip length)"
        )
    clip = read_clip(source, generator)
    rate = generator.sample_rate
    mask = torch.zeros(generator.codec.num_samples, dtype=torch.bool)
    mask[round(start * rate) : round(end * rate)] = True
    extra = opts.extra
    labels = None if extra.get("label") is None else generator.label_index(extra["label"])
    waves, label_ids, voices = [], [], []
    for i in range(num):  # variation i from seed + i: the same whatever num is
        filled = generator.inpaint(clip, mask, labels, seed=opts.seed + i, **opts.generation())
        waves.append(filled.waveforms)
        label_ids.append(filled.labels)
        voices.append(filled.voices)
    samples = AudioSamples(torch.cat(waves), rate, torch.cat(label_ids), torch.cat(voices))
    write_wav(out / "input.wav", clip, rate)
    records = write_samples(generator, samples, out, opts.seed, prefix="inpainted")
    for record in records:
        record.update({"input": str(source), "span": [start, end]})
    return records


def data_show(opts: DataOptions) -> None:
    """Counts per class of a set and, with --out, a few example WAVs."""
    from polydit.audio.data import load_dataset

    data, report = load_dataset(
        opts.data,
        opts.extra.get("split", "train"),
        skip_bad=opts.extra.get("skip_bad", False),
    )
    counts = torch.bincount(data.labels, minlength=len(data.class_names)).tolist()
    typer.echo(
        f"{data.name}: {len(data)} clips of {data.seconds:.3f} s at {data.sample_rate} Hz, "
        f"{len(data.class_names)} classes"
    )
    for name, count in zip(data.class_names, counts, strict=True):
        typer.echo(f"  class {name!r}: {count}")
    if report.skipped:
        typer.echo(report.summary())
    g = torch.Generator().manual_seed(opts.seed)
    picks = torch.randperm(len(data), generator=g)[: opts.num].tolist()
    for i in picks:
        caption = data.captions[i] if data.captions else data.class_names[data.labels[i]]
        typer.echo(f"  #{i}: {caption}")
        if opts.out is not None:
            write_wav(opts.out / f"example_{i:05d}.wav", data.waves[i], data.sample_rate)
    if opts.out is not None:
        typer.echo(f"wrote {len(picks)} examples to {opts.out}")


def demo(generator: AudioGenerator, out: Path, *, seed: int) -> list[GalleryItem]:
    """One clip per class of the shipped model and their spectrograms."""
    names = generator.codec.class_names
    samples = generator.sample(len(names), torch.arange(len(names)), seed=seed)
    sampling = generator.sampling
    how = f"{sampling.sampler} {sampling.steps} steps, CFG {sampling.cfg_scale}, Griffin-Lim"
    records = write_samples(generator, samples, out, seed)
    items = [
        GalleryItem(
            Path("spectrograms.png"),
            f"log-mel spectrograms of one clip per class ({', '.join(names)}) from the shipped "
            f"{generator.codec.data or 'audio'} model ({how})",
            f"polydit-audio sample --label {names[0]} --num 1 --seed {seed} --dtype fp32 --out DIR, and so on "
            "for each class (seed + class id)",
        )
    ]
    for i, record in enumerate(records):
        label = record["conditioning"]["label"]
        command = (
            f"polydit-audio sample --label {label} --num 1 --seed {seed + i} --dtype fp32 --out DIR"
        )
        items.append(GalleryItem(Path(record["file"]), f"{label!r} ({how})", command))
    return items
