import numpy as np
import torch

from polydit.audio.mel import MelConfig
from polydit.audio.spectrograms import GAP, spectrogram_grid


def test_grid_layout_and_linear_codecs_are_drawn_on_the_mel_scale():
    t = torch.arange(16384) / 16000
    waves = torch.stack([0.5 * torch.sin(2 * torch.pi * f * t) for f in (300.0, 3000.0, 600.0)])
    image = spectrogram_grid(waves, MelConfig(), columns=2, zoom=2)
    assert image.size == (2 * 128 + GAP, 2 * 128 + GAP)  # (width, height): 64 frames × 64 mels
    pixels = np.asarray(image)
    low, high = pixels[:128, :128], pixels[:128, 130:]
    assert low[64:].min() < high[64:].min() and high[:64].min() < low[:64].min()
    linear = MelConfig(n_fft=512, hop=128, scale="linear")
    drawn = spectrogram_grid(waves, linear, columns=2, zoom=1)
    same = spectrogram_grid(waves, linear.replace(scale="mel"), columns=2, zoom=1)
    assert drawn.size == (2 * 128 + GAP, 2 * 64 + GAP)
    assert np.array_equal(np.asarray(drawn), np.asarray(same))
