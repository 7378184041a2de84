"""The built-in ``notes`` set: procedural synthesiser notes with MIDI pitch labels.

Each clip is one note of MIDI pitch ``p`` in ``[low, high]`` (label ``p - low``; class names
like "C4" with MIDI 60 = C4, 440 Hz at MIDI 69) on one of :data:`WAVEFORMS`:

* ``sine``, ``triangle``, ``square``, ``sawtooth`` — band-limited by additive synthesis (every
  harmonic below 0.45 × the sample rate, with the waveform's Fourier amplitudes), so no aliasing;
* ``fm`` — two-operator FM, ``sin(φ + I·e(t)·sin(r·φ))`` with ratio ``r`` ∈ {1, 2, 3} and index
  ``I`` ∈ [0.5, 3] following the amplitude envelope ``e``.

The instantaneous frequency may carry vibrato (probability 0.5, depth 0–0.3 semitone, 4–7 Hz);
the phase is its running integral. The amplitude is a linear ADSR envelope: onset 0–50 ms,
attack 5–80 ms, decay 50–300 ms, sustain level 0.3–0.9, gate (key held) 0.3–0.7 s, release
50–300 ms, then silence; peak level 0.3–0.9. Every parameter is drawn uniformly from a
generator seeded by (seed, split, pitch, waveform, k), so the train and test splits are
different draws of the same distribution, and each clip is a pure function of its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from polydit.audio.waveform import quantise_pcm16
from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError

WAVEFORMS = ("sine", "triangle", "square", "sawtooth", "fm")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SPLIT_STREAMS = {"train": 0, "test": 1}
NYQUIST_FRACTION = 0.45


@dataclass(frozen=True)
class NotesConfig(JsonConfig):
    """MIDI pitches `low`…`high`, `renditions` notes per (pitch, waveform) and split."""

    sample_rate: int = 16000  # Hz
    num_samples: int = 16384  # samples per clip (1.02 s at 16 kHz)
    low: int = 48  # MIDI pitch of the lowest note (C3)
    high: int = 84  # MIDI pitch of the highest note (C6)
    train_renditions: int = 10  # notes per (pitch, waveform) in the train split
    test_renditions: int = 4  # ... and in the test split
    seed: int = 0  # with (split, pitch, waveform, k) it seeds each note's parameters

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 127:
            raise ConfigError(
                f"NotesConfig: need 0 <= low <= high <= 127, got {self.low}…{self.high}"
            )
        if midi_frequency(self.high) >= NYQUIST_FRACTION * self.sample_rate:
            raise ConfigError(
                f"NotesConfig.high={self.high} ({midi_frequency(self.high):.0f} Hz) is above "
                f"{NYQUIST_FRACTION} × sample_rate={self.sample_rate}"
            )
        if self.train_renditions < 1 or self.test_renditions < 1:
            raise ConfigError("NotesConfig: renditions must be >= 1")

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(midi_name(p) for p in range(self.low, self.high + 1))

    def renditions(self, split: str) -> int:
        if split not in SPLIT_STREAMS:
            raise ConfigError(f"split must be train|test, got {split!r}")
        return self.train_renditions if split == "train" else self.test_renditions


def midi_frequency(pitch: float) -> float:
    """Hz of MIDI `pitch` (equal temperament, A4 = MIDI 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def midi_name(pitch: int) -> str:
    """ "C4" for MIDI 60, "A#2" for 46."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class NoteClip:
    """The recipe of one note (times in seconds, levels in [0, 1])."""

    pitch: int
    waveform: str
    onset: float
    attack: float
    decay: float
    sustain: float
    gate: float
    release: float
    level: float
    vibrato_depth: float  # semitones, 0 = none
    vibrato_rate: float  # Hz
    fm_ratio: float
    fm_index: float

    def caption(self) -> str:
        """e.g. "a sawtooth note, C4"."""
        return f"a {self.waveform} note, {midi_name(self.pitch)}"


def draw_note(pitch: int, waveform: str, rng: np.random.Generator) -> NoteClip:
    u = rng.uniform
    vibrato = rng.random() < 0.5
    return NoteClip(
        pitch=pitch,
        waveform=waveform,
        onset=u(0.0, 0.05),
        attack=u(0.005, 0.08),
        decay=u(0.05, 0.3),
        sustain=u(0.3, 0.9),
        gate=u(0.3, 0.7),
        release=u(0.05, 0.3),
        level=u(0.3, 0.9),
        vibrato_depth=u(0.0, 0.3) if vibrato else 0.0,
        vibrato_rate=u(4.0, 7.0),
        fm_ratio=float(rng.integers(1, 4)),
        fm_index=u(0.5, 3.0),
    )


def note_recipes(config: NotesConfig, split: str) -> list[NoteClip]:
    """Every note of `split`, ordered by pitch, then waveform, then rendition."""
    count = config.renditions(split)
    recipes = []
    for pitch in range(config.low, config.high + 1):
        for w, waveform in enumerate(WAVEFORMS):
            for k in range(count):
                rng = np.random.default_rng([config.seed, SPLIT_STREAMS[split], pitch, w, k])
                recipes.append(draw_note(pitch, waveform, rng))
    return recipes


def envelope(note: NoteClip, t: np.ndarray) -> np.ndarray:
    """Linear ADSR amplitude (L,) in [0, 1] at times `t` (L,) seconds."""

    def held(s: np.ndarray) -> np.ndarray:  # attack, decay, sustain while the key is down
        rise = np.clip(s / note.attack, 0.0, 1.0)
        fall = 1.0 - (1.0 - note.sustain) * np.clip((s - note.attack) / note.decay, 0.0, 1.0)
        return np.where(s < note.attack, rise, fall)

    s = t - note.onset
    at_release = float(held(np.asarray(note.gate)))
    fade = at_release * np.clip(1.0 - (s - note.gate) / note.release, 0.0, 1.0)
    return np.where(s < 0, 0.0, np.where(s < note.gate, held(s), fade))


def harmonic_amplitudes(waveform: str, count: int) -> np.ndarray:
    """Fourier sine amplitudes of harmonics 1..count, normalised so harmonic 1 is 1."""
    k = np.arange(1, count + 1, dtype=np.float64)
    if waveform == "sine":
        return (k == 1).astype(np.float64)
    if waveform == "square":
        return np.where(k % 2 == 1, 1.0 / k, 0.0)
    if waveform == "sawtooth":
        return 1.0 / k
    if waveform == "triangle":
        return np.where(k % 2 == 1, (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    raise ConfigError(f"waveform must be one of {', '.join(WAVEFORMS)}, got {waveform!r}")


def synthesize_note(note: NoteClip, sample_rate: int, num_samples: int) -> np.ndarray:
    """The note as float64 samples (num_samples,) with peak `note.level`."""
    t = np.arange(num_samples) / sample_rate
    semitones = note.vibrato_depth * np.sin(2 * math.pi * note.vibrato_rate * t)
    frequency = midi_frequency(note.pitch) * 2.0 ** (semitones / 12)
    phase = 2 * math.pi * np.cumsum(frequency) / sample_rate
    env = envelope(note, t)
    if note.waveform == "fm":
        tone = np.sin(phase + note.fm_index * env * np.sin(note.fm_ratio * phase))
    else:
        top = frequency.max()
        count = max(1, int(NYQUIST_FRACTION * sample_rate // top))
        amplitudes = harmonic_amplitudes(note.waveform, count)
        tone = sum(a * np.sin(k * phase) for k, a in enumerate(amplitudes, 1) if a != 0.0)
    wave = np.asarray(tone) * env
    return wave * (note.level / max(np.abs(wave).max(), 1e-12))


def synthesize_notes(recipes: list[NoteClip], config: NotesConfig) -> torch.Tensor:
    """(len(recipes), num_samples) float32 clips, quantised to 16-bit levels."""
    waves = np.stack([synthesize_note(r, config.sample_rate, config.num_samples) for r in recipes])
    return quantise_pcm16(torch.from_numpy(waves.astype(np.float32)))
