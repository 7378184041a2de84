"""Audio files: strict WAV/FLAC reading and atomic 16-bit PCM WAV writing, with soundfile.

soundfile bundles libsndfile, so nothing else is needed (torchaudio's own load/save would need
torchcodec and FFmpeg). :func:`read_audio` refuses, with a :class:`DataError` naming the file
and the problem, a file that is

* unreadable — not audio, or a format or codec libsndfile cannot decode;
* truncated — a WAV whose ``data`` chunk declares more bytes than the file holds, or a file
  that decodes to fewer frames than its header announces (a cut-off FLAC stops decoding);
* empty — no frames; silent — peak below :data:`SILENCE_PEAK` (−60 dBFS); not finite — NaN or
  infinite samples (float WAVs); out of range — float samples beyond [-1, 1];
* of the wrong channel count — more than one channel, unless ``downmix`` averages them.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import Tensor

from polydit.audio.waveform import to_pcm16
from polydit.core.atomic import atomic_write
from polydit.core.errors import DataError

AUDIO_SUFFIXES = (".wav", ".flac")
SILENCE_PEAK = 1e-3
STREAMING_SIZE = 0xFFFFFFFF  # a data size streaming writers leave when the length is unknown


class BadAudioFile(DataError):
    """An audio file that cannot be used; `reason` names why in a word or two ("missing",
    "unreadable", "truncated", "empty", "channels", "not finite", "out of range", "silent"; the
    folder reader adds "not audio"), so skipped files can be counted by reason."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_audio(path: str | Path, *, downmix: bool = False) -> tuple[Tensor, int]:
    """A mono WAV/FLAC file as (samples (L,) float32 in [-1, 1], sample rate); see the module
    docstring for what raises :class:`BadAudioFile` (a DataError). `downmix` averages the channels of a multi-channel
    file instead of refusing it."""
    path = Path(path)
    if not path.is_file():
        raise BadAudioFile(f"{path}: no such audio file", "missing")
    try:
        info = sf.info(str(path))
        wave, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (L, C)
    except (sf.SoundFileError, RuntimeError) as e:
        raise BadAudioFile(
            f"{path}: unreadable or truncated audio ({e}); expected a whole WAV or FLAC file",
            "unreadable",
        ) from None
    truncated = wav_truncation(path) if info.format == "WAV" else None
    if truncated is None and wave.shape[0] < info.frames:
        truncated = f"decoded {wave.shape[0]} of the {info.frames} frames its header announces"
    if truncated:
        raise BadAudioFile(f"{path}: truncated file ({truncated})", "truncated")
    if wave.shape[0] == 0:
        raise BadAudioFile(f"{path}: empty audio file (no samples)", "empty")
    if wave.shape[1] != 1 and not downmix:
        raise BadAudioFile(
            f"{path}: has {wave.shape[1]} channels; expected mono (1 channel), or pass "
            "downmix to average the channels",
            "channels",
        )
    if not np.isfinite(wave).all():
        raise BadAudioFile(f"{path}: holds NaN or infinite samples", "not finite")
    top = float(np.abs(wave).max())
    if top > 1.0:
        raise BadAudioFile(
            f"{path}: samples reach {top:.3g}, beyond [-1, 1] (a float file with overs); "
            "normalise it first",
            "out of range",
        )
    mono = torch.from_numpy(np.ascontiguousarray(wave.mean(axis=1)))
    peak = float(mono.abs().max())
    if peak < SILENCE_PEAK:
        raise BadAudioFile(
            f"{path}: silent (peak {peak:.2g}, below {SILENCE_PEAK:g} = -60 dBFS)", "silent"
        )
    return mono, int(rate)


def wav_truncation(path: Path) -> str | None:
    """How a RIFF/WAVE file's ``data`` chunk is cut short, or None when it is whole (or when its
    size field is the streaming placeholder, or the file is not plain RIFF, e.g. RF64)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = path.stat().st_size
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk, length = struct.unpack("<4sI", f.read(8))
            if chunk == b"data":
                available = size - offset - 8
                if length != STREAMING_SIZE and length > available:
                    return f"the data chunk declares {length} bytes, the file holds {available}"
                return None
            offset += 8 + length + (length & 1)
    return None


def wav_bytes(wave: Tensor, sample_rate: int) -> bytes:
    """A 16-bit PCM mono WAV file of `wave` (L,) in [-1, 1] (clipped), as bytes."""
    if wave.dim() != 1:
        raise DataError(f"wav: expected mono samples of shape (L,), got {tuple(wave.shape)}")
    buffer = io.BytesIO()
    sf.write(buffer, to_pcm16(wave), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_wav(path: str | Path, wave: Tensor, sample_rate: int) -> Path:
    """Write `wave` (L,) as a 16-bit PCM WAV at `path`, atomically (temp file, then rename)."""
    data = wav_bytes(wave, sample_rate)
    return atomic_write(path, lambda f: f.write(data))
