"""polydit-audio: spoken words, synthesiser notes and users' WAV/FLAC clips, their log-mel and
waveform-autoencoder representations and the metrics that judge generated audio. The latent
audio DiT (AudioGenerator) is still to come.
"""

from __future__ import annotations

from polydit.audio.data import BUILTINS, AudioSet, load_builtin, load_dataset
from polydit.audio.io import read_audio, write_wav

__all__ = ["BUILTINS", "AudioSet", "load_builtin", "load_dataset", "read_audio", "write_wav"]
