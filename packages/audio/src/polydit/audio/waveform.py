"""Operations on mono waveforms: resampling, crop/pad to a length, silence trim, level, PCM.

A waveform is a float32 tensor (L,) (or (..., L) where stated) with samples in [-1, 1].
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torchaudio.transforms as AT
from torch import Tensor

from polydit.core.errors import ConfigError

ALIGNS = ("start", "centre")
PCM_SCALE = 32768.0


def resample(wave: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """(..., L) at `orig_rate` → (..., L·new/orig) at `new_rate` (windowed-sinc, torchaudio's
    default Hann filter of width 6 zero crossings); the identity when the rates agree."""
    if orig_rate == new_rate:
        return wave
    return _resampler(orig_rate, new_rate)(wave)


@cache
def _resampler(orig_rate: int, new_rate: int) -> AT.Resample:
    """torchaudio's Resample, whose filter kernel is computed once per pair of rates."""
    return AT.Resample(orig_rate, new_rate)


def fit_length(wave: Tensor, length: int, align: str = "start") -> Tensor:
    """(L,) → (length,): zero-padded or cropped. ``align="start"`` keeps the first `length`
    samples and pads at the end; ``"centre"`` pads or crops both ends equally (the odd sample
    at the end)."""
    if align not in ALIGNS:
        raise ConfigError(f"align must be one of {', '.join(ALIGNS)}, got {align!r}")
    size = wave.shape[-1]
    if size >= length:
        start = 0 if align == "start" else (size - length) // 2
        return wave[start : start + length]
    before = 0 if align == "start" else (length - size) // 2
    return torch.nn.functional.pad(wave, (before, length - size - before))


def trim_silence(wave: Tensor, threshold: float = 0.01) -> Tensor:
    """(L,) without the leading and trailing samples quieter than `threshold` × the peak."""
    loud = torch.nonzero(wave.abs() > threshold * wave.abs().max()).flatten()
    if loud.numel() == 0:
        return wave[:0]
    return wave[int(loud[0]) : int(loud[-1]) + 1]


def peak_normalise(wave: Tensor, peak: float = 0.9) -> Tensor:
    """(..., L) scaled so that its largest absolute sample is `peak` (silence stays silent)."""
    top = wave.abs().amax(dim=-1, keepdim=True)
    return torch.where(top > 0, wave * (peak / top.clamp_min(1e-12)), wave)


def to_pcm16(wave: Tensor) -> np.ndarray:
    """(..., L) float in [-1, 1] → int16 array: ``round(x · 32768)`` clipped to [-32768, 32767]."""
    scaled = (wave.detach().cpu().double() * PCM_SCALE).round().clamp(-PCM_SCALE, PCM_SCALE - 1)
    return scaled.to(torch.int16).numpy()


def from_pcm16(samples: np.ndarray) -> Tensor:
    """int16 array → float32 tensor ``x / 32768`` (exact inverse of :func:`to_pcm16` on its range)."""
    return torch.from_numpy(samples.astype(np.float32) / PCM_SCALE)


def quantise_pcm16(wave: Tensor) -> Tensor:
    """What a 16-bit PCM file stores: (..., L) float rounded to the 65,536 levels."""
    return from_pcm16(to_pcm16(wave))
