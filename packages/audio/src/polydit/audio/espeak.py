"""Speech synthesis with the espeak-ng engine that the PyPI package ``espeakng-loader`` bundles.

No system package is needed: the engine (libespeak-ng 1.52) and its voice data ship in the
wheel and are driven through ctypes in a worker process (:mod:`polydit.audio.espeak_worker`)
that forks a fresh child per utterance, so the same :class:`Utterance` always gives the same
samples. The engine speaks at :data:`ENGINE_RATE` (22,050 Hz) as 16-bit integers.

A voice is an English accent (an espeak-ng language, :data:`ACCENTS`) combined with a voice
variant (a speaker timbre: formants, breath, pitch, flutter; :func:`variants`); ``rate`` is in
words per minute (espeak-ng accepts 80–450) and ``pitch`` / ``pitch_range`` are 0–99 (base
pitch and intonation range; 50 is the voice's own).
"""

from __future__ import annotations

import atexit
import json
import struct
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from polydit.core.errors import ConfigError

ENGINE_RATE = 22050
#: espeak-ng language id → how the accent is named in captions.
ACCENTS = {
    "en-us": "American",
    "en": "British",
    "en-gb-x-rp": "Received Pronunciation",
    "en-gb-scotland": "Scottish",
    "en-gb-x-gbclan": "Lancastrian",
    "en-gb-x-gbcwmd": "West Midlands",
    "en-029": "Caribbean",
}  # en-us-nyc is left out: it says 11 of the 20 built-in words sample-identically to en-us
DEFAULT_VARIANT = "default"  # the accent's own voice, with no variant file applied
EXCLUDED_VARIANTS = ("fast",)  # "fast_test": espeak-ng's unstable speed experiment, not a voice
MIN_RATE, MAX_RATE = 80, 450
HEADER = struct.Struct("<ii")
UNKNOWN_VOICE = 1  # the worker's status when espeak_SetVoiceByName fails
WORKER = Path(__file__).with_name("espeak_worker.py")


def data_path() -> Path:
    """The espeak-ng-data folder inside the espeakng-loader wheel."""
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


@cache
def variants() -> tuple[str, ...]:
    """Every voice variant of the bundled data (file names of ``voices/!v``) except
    :data:`EXCLUDED_VARIANTS`, plus :data:`DEFAULT_VARIANT`; sorted case-insensitively."""
    names = [p.name for p in (data_path() / "voices" / "!v").iterdir() if p.is_file()]
    kept = [n for n in names if n not in EXCLUDED_VARIANTS]
    return tuple(sorted([DEFAULT_VARIANT, *kept], key=lambda n: (n.lower(), n)))


@cache
def variant_gender(variant: str) -> str | None:
    """ "male" | "female" as the variant's file declares it, None when it declares neither."""
    if variant == DEFAULT_VARIANT:
        return "male"  # the English voices' own timbre is espeak-ng's male1
    path = data_path() / "voices" / "!v" / variant
    for line in path.read_text(errors="replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower() == "gender":
            gender = words[1].lower()
            return gender if gender in ("male", "female") else None
    return None


@dataclass(frozen=True)
class Utterance:
    """One thing for espeak-ng to say."""

    text: str
    accent: str = "en-us"  # a key of ACCENTS or any espeak-ng language id
    variant: str = DEFAULT_VARIANT  # an espeak-ng voice variant (variants())
    rate: int = 175  # words per minute
    pitch: int = 50  # 0–99
    pitch_range: int = 50  # 0–99
    seed: int = 0  # the engine's noise generator (breathy and whispering variants use it)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ConfigError("Utterance.text: expected words to say, got an empty string")
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise ConfigError(
                f"Utterance.rate: expected {MIN_RATE}–{MAX_RATE} words per minute, got {self.rate}"
            )
        for name in ("pitch", "pitch_range"):
            if not 0 <= getattr(self, name) <= 99:
                raise ConfigError(f"Utterance.{name}: expected 0–99, got {getattr(self, name)}")
        if self.variant not in variants():  # espeak-ng would silently ignore it
            raise ConfigError(
                f"Utterance.variant: no espeak-ng voice variant {self.variant!r}; the bundled "
                f"data has {len(variants())} (polydit.audio.espeak.variants())"
            )

    @property
    def voice(self) -> str:
        """The espeak-ng voice name: ``accent`` or ``accent+variant``."""
        return self.accent if self.variant == DEFAULT_VARIANT else f"{self.accent}+{self.variant}"

    def request(self) -> bytes:
        fields = {
            "text": self.text,
            "voice": self.voice,
            "rate": self.rate,
            "pitch": self.pitch,
            "range": self.pitch_range,
            "seed": self.seed,
        }
        return json.dumps(fields).encode() + b"\n"


class Espeak:
    """A running espeak-ng worker. ``with Espeak() as engine: engine.say(utterances)``."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        status, payload = self._read_frame()
        (self.sample_rate,) = struct.unpack("<i", payload)
        if status != 0 or self.sample_rate != ENGINE_RATE:
            raise RuntimeError(
                f"espeak-ng worker started at {self.sample_rate} Hz, status {status}"
            )

    def _read_frame(self) -> tuple[int, bytes]:
        stdout = self._process.stdout
        assert stdout is not None
        header = stdout.read(HEADER.size)
        if len(header) < HEADER.size:
            raise RuntimeError(f"the espeak-ng worker exited (code {self._process.poll()})")
        status, size = HEADER.unpack(header)
        return status, stdout.read(size)

    def say(self, utterances: Iterable[Utterance]) -> list[np.ndarray]:
        """Each utterance as int16 samples (L,) at :data:`ENGINE_RATE`, in order.

        Requests are written in chunks while replies are read, so pipes never fill up.
        Raises ConfigError naming the voice when espeak-ng does not know the accent.
        """
        stdin = self._process.stdin
        assert stdin is not None
        pending = list(utterances)
        out: list[np.ndarray] = []
        for start in range(0, len(pending), 64):
            chunk = pending[start : start + 64]
            stdin.write(b"".join(u.request() for u in chunk))
            stdin.flush()
            replies = [self._read_frame() for _ in chunk]  # all of them, so none is left behind
            for utterance, (status, payload) in zip(chunk, replies, strict=True):
                if status != 0:
                    message = f"{utterance}: {payload.decode(errors='replace')}"
                    raise ConfigError(message) if status == UNKNOWN_VOICE else RuntimeError(message)
                out.append(np.frombuffer(payload, dtype="<i2").copy())
        return out

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=10)

    def __enter__(self) -> Espeak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@cache
def shared_engine() -> Espeak:
    """One worker for the whole process, started on first use and closed at exit."""
    engine = Espeak()
    atexit.register(engine.close)
    return engine


def say(utterances: Sequence[Utterance]) -> list[np.ndarray]:
    """int16 samples (L,) at :data:`ENGINE_RATE` of each utterance, on the shared engine."""
    return shared_engine().say(utterances)
