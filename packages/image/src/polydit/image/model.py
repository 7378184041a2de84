"""DiT sizes for images: named presets of the core :class:`~polydit.core.dit.DiTConfig`.

Every image DiT uses 2-D axial RoPE over (row, col) patch positions, QK-norm, a label table with
a null class (classifier-free guidance) and, for text models, MM-DiT joint attention over
``context_dim``-wide token features.
"""

from __future__ import annotations

from polydit.core.dit import DiTConfig
from polydit.image.codec import PatchCodec

PRESETS: dict[str, dict[str, int]] = {
    "micro": {"hidden": 64, "depth": 2, "heads": 2},  # tests
    "digits": {"hidden": 128, "depth": 4, "heads": 4},  # the shipped 8×8 digits model
    "small": {"hidden": 256, "depth": 8, "heads": 4},  # 24–32 px folders, faces
}


def image_dit_config(
    codec: PatchCodec, size: dict[str, int], num_classes: int, context_dim: int = 0
) -> DiTConfig:
    """The DiT config over `codec`'s tokens at `size` (hidden/depth/heads, e.g. a
    :data:`PRESETS` entry)."""
    return DiTConfig(
        in_dim=codec.token_dim,
        pos_embed="rope",
        pos_axes=2,
        qk_norm=True,
        num_classes=num_classes,
        context_dim=context_dim,
        **size,
    )
