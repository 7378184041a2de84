"""Users' folders of WAV/FLAC files as an :class:`~polydit.audio.data.AudioSet`.

Layouts (hidden files are ignored):

* ``captions.csv`` in the folder: a CSV with a header naming the columns ``file`` (a path
  relative to the folder), ``caption`` and optionally ``label``; only the files it lists are
  read. With a ``label`` column its sorted distinct values are the classes, else there is one
  class ``""``.
* else sub-folders: each sub-folder is a class (sorted names) holding its files (not
  recursively); files beside the sub-folders are ignored.
* else the files of the folder itself: one class ``""``.

Each file is read strictly (:func:`polydit.audio.io.read_audio`), resampled to the model's
rate, cropped to its first ``num_samples`` samples or zero-padded at the end; levels are kept.
A bad file (or a file that is not ``.wav``/``.flac``) raises a DataError naming it; with
``skip_bad`` it is skipped and counted by reason. A class left without clips raises.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from polydit.audio.data import AudioSet
from polydit.audio.io import AUDIO_SUFFIXES, BadAudioFile, read_audio
from polydit.audio.waveform import fit_length, resample
from polydit.core.errors import DataError

CAPTIONS_FILE = "captions.csv"


@dataclass
class SkipReport:
    """The files ``skip_bad`` skipped: (reason, message) pairs, counted by reason."""

    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """How many files were skipped for each reason."""
        return dict(Counter(reason for reason, _ in self.skipped))

    def summary(self) -> str:
        """e.g. "skipped 3 files: 2 silent, 1 truncated" ("" when none was skipped)."""
        if not self.skipped:
            return ""
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(self.counts.items()))
        return f"skipped {len(self.skipped)} file{'s' * (len(self.skipped) > 1)}: {parts}"


@dataclass(frozen=True)
class Entry:
    path: Path
    label: str
    caption: str | None


def list_entries(root: Path) -> list[Entry]:
    """The files of `root` in one of the three layouts, with their class and caption."""
    captions = root / CAPTIONS_FILE
    if captions.is_file():
        return _caption_entries(root, captions)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        return [Entry(f, d.name, None) for d in subdirs for f in _visible_files(d)]
    return [Entry(f, "", None) for f in _visible_files(root)]


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _caption_entries(root: Path, captions: Path) -> list[Entry]:
    try:
        with open(captions, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            columns = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{captions}: unreadable captions file ({e})") from None
    missing = {"file", "caption"} - columns
    if not rows or missing:
        raise DataError(
            f"{captions}: expected a CSV header with the columns file, caption (and optionally "
            f"label) and at least one row; missing {', '.join(sorted(missing)) or 'rows'}"
        )
    entries = []
    for line, row in enumerate(rows, start=2):
        if not row["file"] or row["caption"] is None:
            raise DataError(f"{captions}:{line}: expected a file name and a caption")
        entries.append(Entry(root / row["file"], row.get("label") or "", row["caption"]))
    return entries


def load_folder(
    root: str | Path,
    sample_rate: int,
    num_samples: int,
    *,
    skip_bad: bool = False,
    downmix: bool = False,
) -> tuple[AudioSet, SkipReport]:
    """Every clip of `root` at `sample_rate`, `num_samples` long (see the module docstring),
    and the report of the files skipped."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of WAV/FLAC files")
    entries = list_entries(root)
    if not entries:
        raise DataError(f"{root}: no audio files found (expected {', '.join(AUDIO_SUFFIXES)})")
    class_names = tuple(sorted({e.label for e in entries}))
    waves, labels, captions, files, skipped = [], [], [], [], []
    for entry in entries:
        try:
            if entry.path.suffix.lower() not in AUDIO_SUFFIXES:
                raise BadAudioFile(
                    f"{entry.path}: not a WAV or FLAC file (expected {', '.join(AUDIO_SUFFIXES)})",
                    "not audio",
                )
            wave, rate = read_audio(entry.path, downmix=downmix)
        except BadAudioFile as e:
            if not skip_bad:
                raise DataError(f"{e}; fix or remove it, or pass --skip-bad") from None
            skipped.append((e.reason, str(e)))
            continue
        waves.append(fit_length(resample(wave, rate, sample_rate), num_samples, align="start"))
        labels.append(class_names.index(entry.label))
        captions.append(entry.caption or "")
        files.append(str(entry.path.relative_to(root)))
    present = set(labels)
    for k, name in enumerate(class_names):
        if k not in present:
            raise DataError(f"{root / name if name else root}: no readable audio (an empty class)")
    has_captions = any(e.caption is not None for e in entries)
    audio = AudioSet(
        torch.stack(waves),
        torch.tensor(labels, dtype=torch.long),
        class_names,
        sample_rate,
        str(root),
        tuple(captions) if has_captions else (),
        {"file": np.asarray(files)},
    )
    return audio, SkipReport(skipped)
