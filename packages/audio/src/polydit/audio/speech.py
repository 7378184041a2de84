"""The built-in spoken-word sets, ``spoken-digits`` (zero…nine) and ``words`` (the ten Speech
Commands core words), synthesised by espeak-ng (:mod:`polydit.audio.espeak`).

A *voice* is an espeak-ng voice variant (104 of them, counting the accents' own voice), and
the split is **by voice**: the 24 voices of :data:`TEST_VOICES` are never heard in training.
They were drawn once (numpy seed 0) among voice families of at most 4 voices, so no family
(``klatt``…``klatt6``, ``iven``…``iven4``, ``anika``/``anikaRobot``; see :func:`voice_family`)
straddles the split and the large Klatt- and Robosoft-synthesiser families stay in training.

Every voice says every word ``renditions`` times; rendition ``k`` of (voice, word) draws its
accent uniformly from :data:`~polydit.audio.espeak.ACCENTS`, its rate, base pitch and
intonation range uniformly from the config's ranges, from a generator seeded by (seed, voice,
word, k), so each clip is a pure function of the config and its name. A clip is the engine's
output with silence below 1 % of the peak trimmed, resampled from 22,050 Hz to
``sample_rate``, peak-normalised to 0.9, centred in ``num_samples`` samples (zero-padded; a
rare word longer than that loses both ends equally) and quantised to 16-bit levels.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from polydit.audio.espeak import ACCENTS, ENGINE_RATE, Utterance, say, variant_gender, variants
from polydit.audio.waveform import (
    fit_length,
    peak_normalise,
    quantise_pcm16,
    resample,
    trim_silence,
)
from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
VOCABULARIES = {"spoken-digits": DIGITS, "words": COMMANDS}
TEST_VOICES = (
    "Andy", "anika", "anikaRobot", "antonio", "AnxiousAndy", "belinda", "boris", "david",
    "Denis", "Diogo", "f1", "Jacky", "m4", "m7", "Marco", "max", "Michael", "Reed",
    "RicishayMax", "RicishayMax2", "RicishayMax3", "rob", "UniRobot", "victor",
)  # fmt: skip
PEAK = 0.9
TRIM_THRESHOLD = 0.01


@dataclass(frozen=True)
class SpeechConfig(JsonConfig):
    """How a spoken-word set is synthesised (see the module docstring).

    rate: (min, max) words per minute; pitch, pitch_range: (min, max) espeak-ng 0–99 values;
    all drawn uniformly as integers, bounds included. At 120 wpm the longest word of 520
    sampled (voice, accent, pitch) draws lasted 0.90 s, so 16,384 samples (1.024 s) hold them.
    """

    sample_rate: int = 16000
    num_samples: int = 16384
    renditions: int = 4
    rate: tuple[int, int] = (120, 230)
    pitch: tuple[int, int] = (25, 75)
    pitch_range: tuple[int, int] = (30, 80)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sample_rate < 1000 or self.num_samples < 1 or self.renditions < 1:
            raise ConfigError(
                "SpeechConfig: need sample_rate >= 1000, num_samples >= 1 and renditions >= 1, "
                f"got {self.sample_rate}, {self.num_samples}, {self.renditions}"
            )
        for name in ("rate", "pitch", "pitch_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ConfigError(f"SpeechConfig.{name}: expected (min, max), got {(low, high)}")


@dataclass(frozen=True)
class SpokenClip:
    """Which voice says which word how: the recipe of one clip of a spoken-word set."""

    word: str
    voice: str
    rendition: int
    accent: str
    rate: int
    pitch: int
    pitch_range: int

    def utterance(self, seed: int) -> Utterance:
        return Utterance(
            self.word, self.accent, self.voice, self.rate, self.pitch, self.pitch_range, seed
        )

    def caption(self) -> str:
        """A templated English description, e.g. "a woman with a Scottish accent says seven
        slowly" (gender as the voice file declares it, else "someone"; "slowly" below 150 wpm,
        "quickly" above 200; "in a high/low voice" for base pitch above 60 / below 40)."""
        who = {"male": "a man", "female": "a woman"}.get(
            variant_gender(self.voice) or "", "someone"
        )
        accent = ACCENTS[self.accent]
        words = [who, "with", _article(accent), accent, "accent", "says", self.word]
        if self.rate < 150:
            words.append("slowly")
        elif self.rate > 200:
            words.append("quickly")
        if self.pitch > 60:
            words.append("in a high voice")
        elif self.pitch < 40:
            words.append("in a low voice")
        return " ".join(words)


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def voice_family(voice: str) -> str:
    """The family a voice belongs to: its lowercased name without a trailing number or
    "robot" (``klatt3`` → ``klatt``, ``anikaRobot`` → ``anika``); espeak-ng's own numbered
    speakers f1–f5 and m1–m8 are each a family of one."""
    if re.fullmatch(r"[fm]\d", voice):
        return voice
    return re.sub(r"(robot)?\d*$", "", voice.lower())


def split_voices(split: str) -> tuple[str, ...]:
    """The voices of `split`: "train" (80), "test" (24) or "all" (104), sorted."""
    every = variants()
    if split == "all":
        return every
    if split == "test":
        return tuple(v for v in every if v in TEST_VOICES)
    if split == "train":
        return tuple(v for v in every if v not in TEST_VOICES)
    raise ConfigError(f"split must be train|test|all, got {split!r}")


def clip_recipes(vocabulary: tuple[str, ...], config: SpeechConfig, split: str) -> list[SpokenClip]:
    """Every clip of `split`, ordered by voice, then word, then rendition."""
    accents = list(ACCENTS)
    recipes = []
    for voice in split_voices(split):
        for word in vocabulary:
            for k in range(config.renditions):
                key = [config.seed, zlib.crc32(voice.encode()), zlib.crc32(word.encode()), k]
                rng = np.random.default_rng(key)
                recipes.append(
                    SpokenClip(
                        word,
                        voice,
                        k,
                        accents[int(rng.integers(len(accents)))],
                        int(rng.integers(config.rate[0], config.rate[1] + 1)),
                        int(rng.integers(config.pitch[0], config.pitch[1] + 1)),
                        int(rng.integers(config.pitch_range[0], config.pitch_range[1] + 1)),
                    )
                )
    return recipes


def render(samples: np.ndarray, config: SpeechConfig) -> torch.Tensor:
    """The engine's int16 output (L,) at 22,050 Hz → the clip (num_samples,) float32."""
    wave = trim_silence(torch.from_numpy(samples.astype(np.float32) / 32768.0), TRIM_THRESHOLD)
    wave = peak_normalise(resample(wave, ENGINE_RATE, config.sample_rate), PEAK)
    return quantise_pcm16(fit_length(wave, config.num_samples, align="centre"))


def synthesize_clips(recipes: list[SpokenClip], config: SpeechConfig) -> torch.Tensor:
    """(len(recipes), num_samples) float32 clips."""
    raw = say([r.utterance(config.seed) for r in recipes])
    return torch.stack([render(samples, config) for samples in raw])
