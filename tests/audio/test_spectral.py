import math

import pytest
import torch

from polydit.audio.spectral import STFTDistanceConfig, stft_distance
from polydit.core.errors import ConfigError


def _tones(frequencies, phase: float = 0.0) -> torch.Tensor:
    t = torch.arange(8192) / 16000
    return torch.stack([0.5 * torch.sin(2 * math.pi * f * t + phase) for f in frequencies])


def test_zero_for_equal_clips_and_per_clip_values():
    x = _tones([220, 440, 880])
    d = stft_distance(x, x)
    assert d.shape == (3,) and torch.all(d == 0)
    noisy = x.clone()
    noisy[1] += 0.05 * torch.randn(8192, generator=torch.Generator().manual_seed(0))
    d = stft_distance(noisy, x)
    assert d[0] == 0 and d[2] == 0 and d[1] > 0.1


def test_phase_matters_far_less_than_pitch_and_level():
    x = _tones([2000])
    shifted = stft_distance(_tones([2000], phase=1.0), x)  # differs in the edge frames only
    other_pitch = stft_distance(_tones([2100]), x)
    quieter = stft_distance(0.5 * x, x)
    assert shifted < 0.25 and other_pitch > 5 * shifted
    assert quieter > 0.5  # spectral convergence alone is exactly 0.5


def test_differentiable():
    x = _tones([440])
    estimate = torch.zeros_like(x).requires_grad_()
    stft_distance(estimate + 0.01 * torch.randn_like(x), x).sum().backward()
    assert estimate.grad is not None and torch.isfinite(estimate.grad).all()
    assert estimate.grad.abs().sum() > 0


def test_bad_input():
    with pytest.raises(ConfigError, match="one shape"):
        stft_distance(torch.zeros(2, 100), torch.zeros(2, 101))
    with pytest.raises(ConfigError, match="fft_sizes"):
        STFTDistanceConfig(fft_sizes=(4,))
