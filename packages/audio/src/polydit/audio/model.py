"""DiT sizes for audio: named presets of the core :class:`~polydit.core.dit.DiTConfig`.

Every audio DiT runs over the codec's frame tokens (B, N, C) with 1-D RoPE over the frame index
and QK-norm (stable-audio's ``ContinuousTransformer`` and EzAudio's UDiT both use RoPE and
QK-LayerNorm). The class label (word, MIDI pitch) goes through the label table, whose null
class is classifier-free guidance's unconditional branch; a voice-conditioned model adds the
one-hot voice as ``Cond.vector`` (an all-zero vector: any voice). Both reach the blocks through
adaLN, beside the time embedding (DiT / stable-audio "global" conditioning).
"""

from __future__ import annotations

from polydit.audio.codec import MelCodec
from polydit.core.dit import DiTConfig

PRESETS: dict[str, dict[str, int]] = {
    "micro": {"hidden": 32, "depth": 2, "heads": 2},  # tests
    "tiny": {"hidden": 128, "depth": 4, "heads": 4},  # the shipped CPU-minutes model
    "small": {"hidden": 256, "depth": 8, "heads": 4},  # the bar runs
}


def audio_dit_config(codec: MelCodec, size: dict[str, int]) -> DiTConfig:
    """The DiT config over `codec`'s tokens at `size` (hidden/depth/heads, e.g. a
    :data:`PRESETS` entry), with a label per class and a voice vector per voice of the codec."""
    return DiTConfig(
        in_dim=codec.token_dim,
        pos_embed="rope",
        pos_axes=1,
        qk_norm=True,
        num_classes=len(codec.class_names),
        vector_dim=len(codec.voice_names),
        **size,
    )
