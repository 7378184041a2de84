"""Audio datasets: the built-in ``spoken-digits``, ``words`` and ``notes`` sets, and users' folders.

Every dataset is an :class:`AudioSet`: mono clips (N, L) float32 in [-1, 1] of one length at one
sample rate, integer labels (N,), the class names, optional captions and per-clip recipe columns
(voice, accent, rate, pitch for speech; MIDI pitch and waveform for notes).

Built-ins are synthesised by our code (:mod:`polydit.audio.speech`, :mod:`polydit.audio.notes`)
at 16 kHz, 16,384 samples (1.024 s) by default, and cached as 16-bit clips in
``$POLYDIT_CACHE/audio`` (default ``~/.cache/polydit/audio``), one ``.npz`` per (set, split,
config); a cached set is bit-identical to a fresh one. Sizes at the default config: spoken-digits
and words 3,200 train clips (80 voices) and 960 test clips (24 unheard voices) each; notes 1,850
train and 740 test clips (37 pitches × 5 waveforms).

A folder (:mod:`polydit.audio.folder`) is read whole; it has no split.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from polydit.audio.notes import NotesConfig, note_recipes, synthesize_notes
from polydit.audio.speech import VOCABULARIES, SpeechConfig, clip_recipes, synthesize_clips
from polydit.audio.waveform import from_pcm16, to_pcm16
from polydit.core.atomic import atomic_write
from polydit.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from polydit.audio.folder import SkipReport

BUILTINS = ("spoken-digits", "words", "notes")
SPLITS = ("train", "test")
CACHE_VERSION = 1


@dataclass(frozen=True)
class AudioSet:
    """waves (N, L) float32 in [-1, 1] at `sample_rate`; labels (N,) long into `class_names`.

    captions: one text per clip, or () when the set has none; info: per-clip columns, each an
    array (N,) (e.g. ``info["voice"]``).
    """

    waves: Tensor
    labels: Tensor
    class_names: tuple[str, ...]
    sample_rate: int
    name: str
    captions: tuple[str, ...] = ()
    info: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.waves.shape[0]

    @property
    def num_samples(self) -> int:
        return self.waves.shape[1]

    @property
    def seconds(self) -> float:
        """Duration of one clip."""
        return self.num_samples / self.sample_rate

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """(waves (K, L), labels (K,)) at `indices` — the Trainer's fast path."""
        return self.waves[indices], self.labels[indices]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.waves[index], self.labels[index]

    def subset(self, indices: Tensor | np.ndarray) -> AudioSet:
        """The clips at `indices`, with their captions and info."""
        idx = np.asarray(indices, dtype=np.int64)
        return AudioSet(
            self.waves[torch.from_numpy(idx)],
            self.labels[torch.from_numpy(idx)],
            self.class_names,
            self.sample_rate,
            self.name,
            tuple(self.captions[i] for i in idx) if self.captions else (),
            {k: v[idx] for k, v in self.info.items()},
        )


@dataclass(frozen=True)
class AudioTrainSet:
    """An :class:`AudioSet` with voice ids (N,) long into `voice_names` (-1: unknown voice)."""

    clips: AudioSet
    voices: Tensor
    voice_names: tuple[str, ...]

    @classmethod
    def of(cls, clips: AudioSet, voice_column: str | None = None) -> AudioTrainSet:
        """`clips` with the voices of their ``info[voice_column]`` (None: no voices)."""
        if voice_column is None:
            return cls(clips, torch.full((len(clips),), -1, dtype=torch.long), ())
        names = tuple(sorted(set(clips.info[voice_column].tolist())))
        ids = np.searchsorted(np.asarray(names), clips.info[voice_column])
        return cls(clips, torch.from_numpy(ids), names)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.clips.waves[index], self.clips.labels[index], self.voices[index]

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(waves (K, L), labels (K,), voices (K,)) at `indices`."""
        return self.clips.waves[indices], self.clips.labels[indices], self.voices[indices]


def cache_dir() -> Path:
    """Where built-in sets are cached: $POLYDIT_CACHE or ~/.cache/polydit, then audio/."""
    base = os.environ.get("POLYDIT_CACHE") or Path.home() / ".cache" / "polydit"
    return Path(base) / "audio"


def default_config(name: str) -> SpeechConfig | NotesConfig:
    """The config a built-in set is generated with when none is given."""
    if name == "notes":
        return NotesConfig()
    if name in VOCABULARIES:
        return SpeechConfig()
    raise ConfigError(f"no built-in audio set {name!r}; expected one of {', '.join(BUILTINS)}")


def load_builtin(
    name: str,
    split: str = "train",
    config: SpeechConfig | NotesConfig | None = None,
    *,
    cache: bool = True,
) -> AudioSet:
    """Built-in set `name` (:data:`BUILTINS`), `split` "train" | "test", generated with
    `config` (default :func:`default_config`); read from / written to :func:`cache_dir` when
    `cache`. Also kept in memory (the last 4 sets loaded)."""
    default = default_config(name)  # raises for an unknown name
    config = config or default
    expected = type(default)
    if not isinstance(config, expected):
        raise ConfigError(f"{name}: expected a {expected.__name__}, got {type(config).__name__}")
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return _load_builtin(name, split, config, cache)


@lru_cache(maxsize=4)
def _load_builtin(
    name: str, split: str, config: SpeechConfig | NotesConfig, cache: bool
) -> AudioSet:
    path = cache_dir() / f"{name}-{split}-{config_digest(config)}.npz"
    if cache and path.is_file():
        with np.load(path) as stored:
            arrays = {k: stored[k] for k in stored.files}
    else:
        arrays = generate(name, split, config)
        if cache:
            atomic_write(path, lambda f: np.savez(f, **arrays))
    return _from_arrays(name, split, config, arrays)


def config_digest(config: SpeechConfig | NotesConfig) -> str:
    """12 hex digits naming a set's config, the cache format version and, for speech, the
    version of the espeak-ng engine and voices (the espeakng-loader wheel)."""
    fields = {"version": CACHE_VERSION, **config.to_dict()}
    if isinstance(config, SpeechConfig):
        fields["espeakng-loader"] = importlib.metadata.version("espeakng-loader")
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def generate(name: str, split: str, config: SpeechConfig | NotesConfig) -> dict[str, np.ndarray]:
    """The arrays of a built-in split: pcm (N, L) int16, labels (N,), captions (N,) and
    ``info_<column>`` (N,) recipe columns."""
    if isinstance(config, NotesConfig):
        notes = note_recipes(config, split)
        waves = synthesize_notes(notes, config)
        labels = [n.pitch - config.low for n in notes]
        captions = [n.caption() for n in notes]
        info = {"pitch": [n.pitch for n in notes], "waveform": [n.waveform for n in notes]}
    else:
        vocabulary = VOCABULARIES[name]
        clips = clip_recipes(vocabulary, config, split)
        waves = synthesize_clips(clips, config)
        labels = [vocabulary.index(c.word) for c in clips]
        captions = [c.caption() for c in clips]
        columns = ("voice", "accent", "rate", "pitch", "pitch_range", "rendition")
        info = {k: [getattr(c, k) for c in clips] for k in columns}
    arrays = {
        "pcm": to_pcm16(waves),
        "labels": np.asarray(labels, dtype=np.int64),
        "captions": np.asarray(captions),
    }
    arrays.update({f"info_{k}": np.asarray(v) for k, v in info.items()})
    return arrays


def _from_arrays(
    name: str, split: str, config: SpeechConfig | NotesConfig, arrays: dict[str, np.ndarray]
) -> AudioSet:
    class_names = config.class_names if isinstance(config, NotesConfig) else VOCABULARIES[name]
    return AudioSet(
        from_pcm16(arrays["pcm"]),
        torch.from_numpy(arrays["labels"]),
        tuple(class_names),
        config.sample_rate,
        f"{name}/{split}",
        tuple(str(c) for c in arrays["captions"]),
        {k.removeprefix("info_"): v for k, v in arrays.items() if k.startswith("info_")},
    )


def load_dataset(
    data: str | None,
    split: str = "train",
    *,
    sample_rate: int = 16000,
    num_samples: int = 16384,
    skip_bad: bool = False,
    downmix: bool = False,
) -> tuple[AudioSet, SkipReport]:
    """A built-in set by name (default spoken-digits) at `sample_rate` × `num_samples`, or a
    folder of WAV/FLAC files resampled and cropped/padded to them; returns (set, report of the
    files skipped — empty unless `skip_bad`). A folder has no split: `split` is ignored for it."""
    from polydit.audio.folder import SkipReport, load_folder

    data = data or "spoken-digits"
    if data in BUILTINS:
        config = default_config(data).replace(sample_rate=sample_rate, num_samples=num_samples)
        return load_builtin(data, split, config), SkipReport()
    if not Path(data).exists():
        raise DataError(
            f"--data {data!r} is neither a built-in audio set ({', '.join(BUILTINS)}) nor an "
            "existing folder"
        )
    return load_folder(data, sample_rate, num_samples, skip_bad=skip_bad, downmix=downmix)
