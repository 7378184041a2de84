"""The video DiT: the core DiT over 3-D patch tokens with 3-axis RoPE (t, h, w).

Full spatiotemporal attention (LTX-Video) is the default: every token attends to every token of
the clip. A codec with ``attention="factorized"`` selects Latte's variant 1 instead (blocks
alternate between the tokens of one frame and the tokens at one spatial location), applied by
the :class:`~polydit.video.pipeline.VideoGenerator` that owns the codec.
"""

from __future__ import annotations

from dataclasses import dataclass

from polydit.core.config import JsonConfig
from polydit.core.dit import DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.text_encoder import FEATURE_DIM
from polydit.video.codec import VideoCodec


@dataclass(frozen=True)
class VideoModelConfig(JsonConfig):
    """Size of the video DiT (the token layout and attention pattern come from the codec)."""

    hidden: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    qk_norm: bool = True
    num_classes: int = 0  # > 0: class-conditional (digit labels) with a null class for CFG
    self_condition: bool = False  # feed the network its previous clean estimate (core DiT option)
    text: bool = False  # MM-DiT joint blocks over MiniLM token states of a caption (--prompt)

    def __post_init__(self) -> None:
        if self.num_classes < 0:
            raise ConfigError(f"VideoModelConfig.num_classes must be >= 0, got {self.num_classes}")
        if self.text and self.num_classes:
            raise ConfigError("VideoModelConfig: text and num_classes > 0 exclude each other")

    def dit_config(self, codec: VideoCodec) -> DiTConfig:
        """The core DiT config for `codec`'s tokens: 3-axis RoPE over (t, h, w); a text model has
        ``context_dim`` = MiniLM's 384 (joint blocks)."""
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
            context_dim=FEATURE_DIM if self.text else 0,
        )
