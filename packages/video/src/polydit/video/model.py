"""The video DiT: the core DiT over 3-D patch tokens with 3-axis RoPE (t, h, w).

Full spatiotemporal attention (LTX-Video) is the default: every token attends to every token of
the clip. ``attention="factorized"`` selects Latte's variant 1 instead: blocks alternate between
spatial attention (the tokens of one frame) and temporal attention (the tokens at one spatial
location), built by :mod:`polydit.video.factorized` around the core blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.config import JsonConfig
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.video.codec import VideoCodec

ATTENTION = ("full", "factorized")


@dataclass(frozen=True)
class VideoModelConfig(JsonConfig):
    """Size and attention pattern of the video DiT (the token layout comes from the codec)."""

    hidden: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    attention: str = "full"
    qk_norm: bool = True
    num_classes: int = 0  # > 0: class-conditional (digit labels) with a null class for CFG
    self_condition: bool = False  # feed the network its previous clean estimate (core DiT option)

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION:
            raise ConfigError(
                f"VideoModelConfig.attention must be one of {', '.join(ATTENTION)}, "
                f"got {self.attention!r}"
            )
        if self.num_classes < 0:
            raise ConfigError(f"VideoModelConfig.num_classes must be >= 0, got {self.num_classes}")

    def dit_config(self, codec: VideoCodec) -> DiTConfig:
        """The core DiT config for `codec`'s tokens: 3-axis RoPE over (t, h, w)."""
        return DiTConfig(
            in_dim=codec.token_dim,
            hidden=self.hidden,
            depth=self.depth,
            heads=self.heads,
            mlp_ratio=self.mlp_ratio,
            pos_embed="rope",
            pos_axes=3,
            qk_norm=self.qk_norm,
            num_classes=self.num_classes,
            self_condition=self.self_condition,
        )


def build_model(config: VideoModelConfig, codec: VideoCodec) -> DiT:
    """A fresh DiT for `codec`'s tokens (factorized attention when the config asks for it)."""
    model = DiT(config.dit_config(codec))
    if config.attention == "factorized":
        from polydit.video.factorized import factorize

        factorize(model, codec)
    return model
