"""Clips ↔ tokens through log-mel or log linear-STFT frames, with Griffin-Lim as the way back.

A clip (L,) becomes its log-mel frames (:mod:`polydit.audio.mel`; with ``mel.scale="linear"``
the log magnitudes of the STFT bins themselves), standardised by one mean and one standard
deviation fitted to training clips, and grouped ``patch`` frames to a token:
N = (L // hop) / patch tokens of ``channels · patch`` values, token i at position i (in tokens,
for 1-D RoPE). Decoding undoes the grouping and the standardisation and runs the Griffin-Lim
vocoder, so it is lossy: the round-trip floor is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from polydit.audio.mel import GriffinLimVocoder, LogMel, MelConfig
from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens


@dataclass(frozen=True)
class MelCodec(JsonConfig):
    """Clips of `num_samples` samples as log-mel tokens of `patch` frames.

    mean, std: the standardisation (:meth:`fitted` measures them); class_names: the label
    vocabulary; voice_names: the voice (speaker) vocabulary of a voice-conditioned model, ()
    for none; data: the training set's name. Equality (what a warm start checks) is the token
    layout and the standardisation.
    """

    mel: MelConfig = field(default_factory=MelConfig)
    num_samples: int = 16384
    patch: int = 1
    mean: float = 0.0
    std: float = 1.0
    class_names: tuple[str, ...] = field(default=(), compare=False)
    voice_names: tuple[str, ...] = field(default=(), compare=False)
    data: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        frames = self.mel.frames(self.num_samples)
        if self.patch < 1 or frames % self.patch:
            raise ConfigError(
                f"codec: {frames} mel frames of {self.num_samples} samples are not a multiple "
                f"of patch={self.patch}"
            )
        if self.std <= 0:
            raise ConfigError(f"codec std must be > 0, got {self.std}")

    @property
    def sample_rate(self) -> int:
        return self.mel.sample_rate

    @property
    def num_tokens(self) -> int:
        return self.mel.frames(self.num_samples) // self.patch

    @property
    def token_dim(self) -> int:
        return self.mel.channels * self.patch

    def fitted(self, waves: Tensor) -> MelCodec:
        """This codec with mean and std of the log-mel values of `waves` (N, L)."""
        values = LogMel(self.mel)(waves.float())
        return self.replace(mean=float(values.mean()), std=float(values.std()))

    def frames(self, waves: Tensor) -> Tensor:
        """waves (B, L) → standardised log-mel frames (B, channels, F)."""
        if waves.dim() != 2 or waves.shape[1] != self.num_samples:
            raise ConfigError(
                f"codec: expected clips (B, {self.num_samples}), got {tuple(waves.shape)}"
            )
        with torch.autocast(waves.device.type, enabled=False):  # exact fp32 under bf16 training
            values = LogMel(self.mel).to(waves.device)(waves.float())
        return (values - self.mean) / self.std

    def encode(self, waves: Tensor) -> Tokens:
        """waves (B, L) → Tokens(x (B, N, channels·patch), pos (B, N, 1))."""
        x = rearrange(self.frames(waves), "b m (n p) -> b n (p m)", p=self.patch)
        return Tokens(x, self.positions(x.shape[0]).to(x.device))

    def positions(self, num: int) -> Tensor:
        """(num, N, 1) float token indices."""
        return torch.arange(self.num_tokens, dtype=torch.float32)[None, :, None].expand(num, -1, -1)

    def to_log_mel(self, x: Tensor) -> Tensor:
        """Token features (B, N, channels·patch) → log-mel frames (B, channels, F)."""
        frames = rearrange(x, "b n (p m) -> b m (n p)", p=self.patch)
        return frames * self.std + self.mean

    def decode(self, x: Tensor, template: Tokens | None = None, seed: int = 0) -> Tensor:
        """Token features (B, N, channels·patch) → waves (B, L) by Griffin-Lim from `seed`."""
        vocoder = GriffinLimVocoder(self.mel).to(x.device)
        return vocoder(self.to_log_mel(x.float()), self.num_samples, seed=seed)

    def touched_tokens(self, mask: Tensor) -> Tensor:
        """(B, N) bool: the tokens one of whose frames' STFT windows (n_fft samples centred on
        frame·hop, as :class:`LogMel` frames them) holds a sample where `mask` (B, L) is True."""
        if mask.dim() != 2 or mask.shape[1] != self.num_samples:
            raise ConfigError(f"codec: expected a mask (B, {self.num_samples}), got {mask.shape}")
        hop, half = self.mel.hop, self.mel.n_fft // 2
        counts = F.pad(mask.long().cumsum(dim=1), (1, 0))  # (B, L + 1), counts[:, j] = Σ_{<j}
        centres = torch.arange(self.mel.frames(self.num_samples), device=mask.device) * hop
        low = (centres - half).clamp(0, self.num_samples)
        high = (centres + half).clamp(0, self.num_samples)
        frames = (counts[:, high] - counts[:, low]) > 0  # (B, F)
        return rearrange(frames, "b (n p) -> b n p", p=self.patch).any(dim=2)

    def template(self, num: int) -> Tokens:
        """Zeros (num, N, channels·patch) at the token positions."""
        return Tokens(torch.zeros(num, self.num_tokens, self.token_dim), self.positions(num))
