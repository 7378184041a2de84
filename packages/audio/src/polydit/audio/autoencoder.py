"""A small 1-D waveform autoencoder (stable-audio "Oobleck" / EzAudio VAE style), trained by our
code with the multi-resolution STFT loss; its latents are what a latent audio DiT would diffuse.

Encoder: a 7-tap convolution to ``channels``; then per stride ``s`` three residual units
(Snake → 7-tap convolution with dilation 1, 3, 9 → Snake → 1×1 convolution, plus the input)
and a strided convolution (kernel 2s, stride s) that multiplies the channels by the next entry
of ``multipliers``; Snake; a 3-tap convolution to ``2 · latent_dim`` (mean and log-variance)
or ``latent_dim``. The decoder mirrors it with transposed convolutions and ends in tanh.
A clip of L samples (L a multiple of ∏ strides, the hop) gives L / hop latent frames:
16,384 samples at the default strides (2, 4, 4, 8) give 64 frames of ``latent_dim``.

Snake: ``x + sin²(αx) / α`` with a learned α per channel (Ziyin et al. 2020), the periodic
activation of BigVGAN, DAC and stable-audio's Oobleck. There is no adversarial term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from polydit.audio.spectral import DEFAULT_STFT, STFTDistanceConfig, stft_distance
from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError


@dataclass(frozen=True)
class AutoencoderConfig(JsonConfig):
    """Widths and strides. ``multipliers[i]`` scales `channels` after the i-th downsampling;
    ``variational`` makes the bottleneck a diagonal Gaussian (a VAE, KL-regularised)."""

    channels: int = 8
    strides: tuple[int, ...] = (2, 4, 4, 8)
    multipliers: tuple[int, ...] = (2, 4, 8, 16)
    latent_dim: int = 32
    variational: bool = True

    def __post_init__(self) -> None:
        if len(self.strides) != len(self.multipliers) or not self.strides:
            raise ConfigError(
                "AutoencoderConfig: strides and multipliers need one entry per downsampling, "
                f"got {self.strides} and {self.multipliers}"
            )
        if min(self.strides) < 2 or min(self.multipliers) < 1 or self.channels < 1:
            raise ConfigError(
                "AutoencoderConfig: strides must be >= 2, multipliers and channels >= 1, got "
                f"{self.strides}, {self.multipliers}, {self.channels}"
            )

    @property
    def hop(self) -> int:
        """Samples per latent frame (the product of the strides)."""
        return math.prod(self.strides)

    @property
    def widths(self) -> tuple[int, ...]:
        """Channels before the first and after each downsampling."""
        return (self.channels, *(self.channels * m for m in self.multipliers))


PRESETS = {
    "tiny": AutoencoderConfig(channels=4, strides=(2, 4), multipliers=(2, 4), latent_dim=8),
    "small": AutoencoderConfig(),  # 0.62 M parameters; 2.8 s per step of 8 clips on 1 CPU thread
}


class Snake(nn.Module):
    """x + sin²(αx)/α per channel of (B, C, T); α starts at 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + torch.sin(self.alpha * x).pow(2) / (self.alpha + 1e-9)


class ResidualUnit(nn.Module):
    """(B, C, T) → (B, C, T): Snake, dilated 7-tap conv, Snake, 1×1 conv, plus the input."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            Snake(channels),
            nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation),
            Snake(channels),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _residual_units(channels: int) -> list[nn.Module]:
    return [ResidualUnit(channels, d) for d in (1, 3, 9)]


class Encoder(nn.Module):
    """waves (B, 1, L) → (B, out_channels, L / hop)."""

    def __init__(self, config: AutoencoderConfig, out_channels: int) -> None:
        super().__init__()
        widths = config.widths
        layers: list[nn.Module] = [nn.Conv1d(1, widths[0], 7, padding=3)]
        for i, stride in enumerate(config.strides):
            layers += _residual_units(widths[i])
            layers += [
                Snake(widths[i]),
                nn.Conv1d(widths[i], widths[i + 1], 2 * stride, stride, padding=(stride + 1) // 2),
            ]
        layers += [Snake(widths[-1]), nn.Conv1d(widths[-1], out_channels, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class Decoder(nn.Module):
    """latents (B, latent_dim, T) → waves (B, 1, T · hop) in (-1, 1)."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        widths = config.widths
        layers: list[nn.Module] = [nn.Conv1d(config.latent_dim, widths[-1], 7, padding=3)]
        for i in reversed(range(len(config.strides))):
            stride = config.strides[i]
            layers += [
                Snake(widths[i + 1]),
                nn.ConvTranspose1d(
                    widths[i + 1],
                    widths[i],
                    2 * stride,
                    stride,
                    padding=(stride + 1) // 2,
                    output_padding=stride % 2,
                ),
            ]
            layers += _residual_units(widths[i])
        layers += [Snake(widths[0]), nn.Conv1d(widths[0], 1, 7, padding=3), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(z)


@dataclass
class AutoencoderLoss:
    """total = stft + kl_weight · kl (scalars), and the reconstruction (B, L)."""

    total: Tensor
    stft: Tensor
    kl: Tensor
    reconstruction: Tensor


class WaveAutoencoder(nn.Module):
    """waves (B, L) ↔ latents (B, latent_dim, L / hop); L must be a multiple of the hop."""

    def __init__(self, config: AutoencoderConfig | None = None) -> None:
        super().__init__()
        config = config or AutoencoderConfig()
        self.config = config
        out = 2 * config.latent_dim if config.variational else config.latent_dim
        self.encoder = Encoder(config, out)
        self.decoder = Decoder(config)

    def _check(self, waves: Tensor) -> None:
        if waves.dim() != 2 or waves.shape[1] % self.config.hop:
            raise ConfigError(
                f"autoencoder: expected clips (B, L) with L a multiple of {self.config.hop}, "
                f"got {tuple(waves.shape)}"
            )

    def posterior(self, waves: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, log-variance), each (B, latent_dim, L / hop); log-variance is 0 (and unused)
        for a plain autoencoder."""
        self._check(waves)
        h = self.encoder(waves[:, None])
        if not self.config.variational:
            return h, torch.zeros_like(h)
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def encode(self, waves: Tensor) -> Tensor:
        """waves (B, L) → latents (B, latent_dim, L / hop): the posterior mean."""
        return self.posterior(waves)[0]

    def decode(self, latents: Tensor) -> Tensor:
        """latents (B, latent_dim, T) → waves (B, T · hop)."""
        return self.decoder(latents)[:, 0]

    def loss(
        self,
        waves: Tensor,
        *,
        kl_weight: float = 1e-4,
        stft: STFTDistanceConfig = DEFAULT_STFT,
        generator: torch.Generator | None = None,
    ) -> AutoencoderLoss:
        """The training loss of a batch (B, L): mean multi-resolution STFT distance of the
        reconstruction plus ``kl_weight`` × the KL of the posterior from N(0, I) (summed over
        latent channels, averaged over frames and clips; 0 for a plain autoencoder). The
        latent is sampled with `generator` (reparameterised)."""
        mean, logvar = self.posterior(waves)
        if self.config.variational:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device)
            z = mean + (0.5 * logvar).exp() * noise
            kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()
        else:
            z, kl = mean, mean.new_zeros(())
        reconstruction = self.decode(z)
        distance = stft_distance(reconstruction, waves, stft).mean()
        return AutoencoderLoss(distance + kl_weight * kl, distance, kl, reconstruction)
