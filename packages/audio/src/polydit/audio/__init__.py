"""polydit-audio: spoken words, synthesiser notes and users' WAV/FLAC clips, their log-mel and
waveform-autoencoder representations, a latent audio DiT that generates and inpaints them, and
the metrics that judge generated audio.

``from polydit.audio import AudioGenerator; AudioGenerator.from_pretrained("digits-mel-tiny")
.sample(4, "seven", seed=0)`` → ``AudioSamples(waveforms (4, L), sample_rate, labels, voices)``.
Importing this package imports no torch; the names below load their modules on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from polydit.audio.data import BUILTINS, AudioSet, load_builtin, load_dataset
    from polydit.audio.io import read_audio, write_wav
    from polydit.audio.pipeline import AudioGenerator, AudioSamples

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "digits-mel-tiny"

_LAZY = {
    "AudioGenerator": "pipeline",
    "AudioSamples": "pipeline",
    "BUILTINS": "data",
    "AudioSet": "data",
    "load_builtin": "data",
    "load_dataset": "data",
    "read_audio": "io",
    "write_wav": "io",
}

__all__ = [
    "BUILTINS",
    "DEFAULT_MODEL",
    "PRETRAINED",
    "AudioGenerator",
    "AudioSamples",
    "AudioSet",
    "load_builtin",
    "load_dataset",
    "read_audio",
    "write_wav",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
