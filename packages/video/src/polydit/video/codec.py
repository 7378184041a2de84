"""Video ↔ tokens: 3-D patches (t, h, w) with integer 3-D positions, and the `given` masks.

Tokens are ordered time-major: token ``(i, j, k)`` (temporal, row, column patch index) sits at
``i * (h * w) + j * w + k``, so the tokens of one temporal patch are contiguous. Pixel values in
[0, 1] become features in [-1, 1]; a token's features are ``(c, pt, ph, pw)`` flattened.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens
from polydit.video.data import MovingDigitsConfig

ATTENTION = ("full", "factorized")


@dataclass(frozen=True)
class VideoCodec(JsonConfig):
    """Clips (B, T, C, H, W) ↔ Tokens with x (B, N, C·pt·ph·pw) and pos (B, N, 3) = (t, h, w).

    patch: (pt, ph, pw); frames / size / channels: the clip shape the model works on.
    attention: how the tokens attend — "full" (every token of the clip, LTX-Video) or
    "factorized" (within a frame, then across frames: Latte, :mod:`polydit.video.factorized`).
    data: the moving-digits set the model was trained on, where eval and demo draw their test
    clips (None: none).
    """

    frames: int = 8
    size: int = 24
    channels: int = 1
    patch: tuple[int, int, int] = (1, 4, 4)
    attention: str = "full"
    data: MovingDigitsConfig | None = None

    def __post_init__(self) -> None:
        pt, ph, pw = self.patch
        if self.frames % pt or self.size % ph or self.size % pw:
            raise ConfigError(
                f"VideoCodec: patch {self.patch} must divide (frames, size, size) = "
                f"({self.frames}, {self.size}, {self.size})"
            )
        if self.attention not in ATTENTION:
            raise ConfigError(
                f"VideoCodec.attention must be one of {', '.join(ATTENTION)}, "
                f"got {self.attention!r}"
            )

    @property
    def grid(self) -> tuple[int, int, int]:
        """Number of patches along (t, h, w)."""
        pt, ph, pw = self.patch
        return self.frames // pt, self.size // ph, self.size // pw

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w

    @property
    def token_dim(self) -> int:
        pt, ph, pw = self.patch
        return self.channels * pt * ph * pw

    def positions(self, batch: int, device: torch.device | str = "cpu") -> Tensor:
        """(batch, N, 3) float (t, h, w) patch coordinates in token order."""
        t, h, w = self.grid
        grid = torch.stack(
            torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij"), -1
        )
        return grid.reshape(1, -1, 3).float().expand(batch, -1, -1).to(device)

    def template(self, num: int) -> Tokens:
        """Zero features (num, N, C·pt·ph·pw) at the patch positions: what the sampler fills."""
        return Tokens(torch.zeros(num, self.num_tokens, self.token_dim), self.positions(num))

    def check(self, video: Tensor) -> None:
        expected = (self.frames, self.channels, self.size, self.size)
        if video.dim() != 5 or tuple(video.shape[1:]) != expected:
            raise ConfigError(
                f"expected clips (B, {', '.join(map(str, expected))}), got {tuple(video.shape)}"
            )

    def encode(self, video: Tensor) -> Tokens:
        """(B, T, C, H, W) in [0, 1] → Tokens (x in [-1, 1], 3-D pos, no mask)."""
        self.check(video)
        pt, ph, pw = self.patch
        x = rearrange(
            video * 2 - 1,
            "b (t pt) c (h ph) (w pw) -> b (t h w) (c pt ph pw)",
            pt=pt,
            ph=ph,
            pw=pw,
        )
        return Tokens(x, self.positions(video.shape[0], video.device))

    def decode(self, x: Tensor, template: Tokens | None = None) -> Tensor:
        """Token features (B, N, C·pt·ph·pw) → clips (B, T, C, H, W), unclamped, in [0, 1] units
        (every clip has the same positions, so `template` is not needed)."""
        pt, ph, pw = self.patch
        t, h, w = self.grid
        pattern = "b (t h w) (c pt ph pw) -> b (t pt) c (h ph) (w pw)"
        video = rearrange(x, pattern, t=t, h=h, w=w, pt=pt, ph=ph, pw=pw)
        return (video + 1) / 2

    def frames_to_tokens(self, given_frames: Tensor) -> Tensor:
        """(B, T) bool given frames → (B, N) bool given tokens.

        A token is given when every frame of its temporal patch is given.
        """
        b = given_frames.shape[0]
        t, h, w = self.grid
        per_patch = given_frames.view(b, t, self.patch[0]).all(-1)  # (B, t)
        return per_patch[:, :, None].expand(b, t, h * w).reshape(b, -1)

    def pixels_to_tokens(self, given_pixels: Tensor) -> Tensor:
        """(B, T, H, W) bool given pixels → (B, N) bool: a token is given when all its pixels are."""
        pt, ph, pw = self.patch
        return rearrange(
            given_pixels, "b (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw)", pt=pt, ph=ph, pw=pw
        ).all(-1)

    def tokens_to_pixels(self, given: Tensor) -> Tensor:
        """(B, N) bool given tokens → (B, T, H, W) bool given pixels."""
        x = given[..., None].expand(-1, -1, self.token_dim).float()
        return self.decode(x * 2 - 1)[:, :, 0] > 0.5
