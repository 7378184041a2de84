"""Log-mel (or log linear-STFT) frames (torchaudio) and their inversion by least squares and
Griffin-Lim.

Forward: the magnitude (power 1) STFT with a Hann window of ``n_fft`` samples, hop ``hop``,
centred frames (reflect padding); with ``scale="mel"`` Slaney-normalised Slaney-scale mel
filters over [f_min, f_max], with ``scale="linear"`` the n_fft // 2 + 1 STFT bins themselves
(no filter bank, so the magnitude is kept exactly); natural log of ``max(value, floor)``. A clip of L samples gives L // hop frames (the
centred STFT's last frame, centred on the clip's end, is dropped), so 16,384 samples at hop 256
give 64 frames, one per 16 ms.

Inverse (the baseline vocoder, no weights): ``exp``; for mels the least-squares linear STFT
magnitude (the filter bank's pseudo-inverse, negative bins set to 0); then ``griffin_lim_iters``
iterations of torchaudio's fast Griffin-Lim (momentum 0.99) from a random phase drawn from
`seed`, so the same frames and seed always give the same waveform.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio.functional as AF
import torchaudio.transforms as AT
from torch import Tensor, nn

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError


@dataclass(frozen=True)
class MelConfig(JsonConfig):
    """STFT and mel settings of the log-mel frames (one frame per `hop` samples); `scale`
    "linear" keeps the STFT bins (`channels` = n_fft // 2 + 1, `n_mels` and the f range unused)."""

    sample_rate: int = 16000  # Hz
    n_fft: int = 1024  # STFT window and FFT size, samples
    hop: int = 256  # samples between frames
    n_mels: int = 64  # mel bands (the frame's channels)
    f_min: float = 0.0  # Hz, lowest mel band edge
    f_max: float | None = None  # Hz, highest edge; None: the Nyquist frequency
    floor: float = 1e-5  # the mel energy is clamped to this before the log
    griffin_lim_iters: int = 64  # phase-recovery iterations of the baseline vocoder
    scale: str = "mel"  # "mel": mel filter bank; "linear": the STFT bins

    def __post_init__(self) -> None:
        if self.hop < 1 or self.hop > self.n_fft or self.n_mels < 1:
            raise ConfigError(
                f"MelConfig: need 1 <= hop <= n_fft and n_mels >= 1, got hop={self.hop}, "
                f"n_fft={self.n_fft}, n_mels={self.n_mels}"
            )
        if self.floor <= 0 or self.griffin_lim_iters < 1:
            raise ConfigError("MelConfig: need floor > 0 and griffin_lim_iters >= 1")
        if self.scale not in ("mel", "linear"):
            raise ConfigError(f"MelConfig: scale must be 'mel' or 'linear', got {self.scale!r}")

    @property
    def n_stft(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def channels(self) -> int:
        """Values per frame: n_mels, or the n_stft STFT bins of a linear scale."""
        return self.n_mels if self.scale == "mel" else self.n_stft

    def frames(self, num_samples: int) -> int:
        """Frames of a clip of `num_samples` samples."""
        return num_samples // self.hop

    def filters(self) -> Tensor:
        """(n_stft, channels) filter bank: mel filters, or the identity of a linear scale."""
        if self.scale == "linear":
            return torch.eye(self.n_stft)
        return AF.melscale_fbanks(
            self.n_stft,
            self.f_min,
            self.f_max or self.sample_rate / 2,
            self.n_mels,
            self.sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )


class LogMel(nn.Module):
    """waves (B, L) → log-mel (B, channels, L // hop)."""

    def __init__(self, config: MelConfig) -> None:
        super().__init__()
        self.config = config
        self.spectrogram = AT.Spectrogram(
            n_fft=config.n_fft, hop_length=config.hop, power=1.0, center=True, pad_mode="reflect"
        )
        self.register_buffer("filters", config.filters(), persistent=False)

    def forward(self, waves: Tensor) -> Tensor:
        magnitude = self.spectrogram(waves)  # (B, n_stft, L // hop + 1)
        mel = torch.einsum("bft,fm->bmt", magnitude, self.filters)  # (B, channels, frames + 1)
        frames = self.config.frames(waves.shape[-1])
        return mel[..., :frames].clamp_min(self.config.floor).log()


class GriffinLimVocoder(nn.Module):
    """log-mel (B, channels, F) → waves (B, length): least-squares mel inversion (the identity
    for a linear scale) + Griffin-Lim."""

    def __init__(self, config: MelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("pinv", torch.linalg.pinv(config.filters().T), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def magnitude(self, log_mel: Tensor) -> Tensor:
        """(B, channels, F) → linear STFT magnitude (B, n_stft, F + 1), non-negative.

        The pseudo-inverse of the filter bank gives the least-squares magnitude; negative bins
        are set to 0. A zero frame is appended for the dropped last frame of :class:`LogMel`.
        """
        linear = torch.einsum("fm,bmt->bft", self.pinv, log_mel.exp()).clamp_min(0.0)
        return nn.functional.pad(linear, (0, 1))

    def forward(self, log_mel: Tensor, length: int, seed: int = 0) -> Tensor:
        config = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return AF.griffinlim(
                self.magnitude(log_mel.float()),
                self.window,
                config.n_fft,
                config.hop,
                config.n_fft,
                power=1.0,
                n_iter=config.griffin_lim_iters,
                momentum=0.99,
                length=length,
                rand_init=True,
            )
