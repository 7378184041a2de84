"""The molecule DiT: a plain set transformer over atom tokens (no positional embedding; not
equivariant — rotations are handled by augmentation, as in ADiT)."""

from __future__ import annotations

from polydit.core.dit import DiTConfig
from polydit.core.errors import ConfigError
from polydit.molecule.codec import MoleculeCodec

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 64, "depth": 2, "heads": 4},
    "small": {"hidden": 128, "depth": 6, "heads": 4},
    "base": {"hidden": 256, "depth": 8, "heads": 8},
}


def preset_size(
    preset: str, *, hidden: int | None = None, depth: int | None = None, heads: int | None = None
) -> dict[str, int]:
    """hidden/depth/heads of a named :data:`PRESETS` entry, each overridden when given."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown molecule preset {preset!r}; choose one of {', '.join(PRESETS)}")
    size = dict(PRESETS[preset])
    size.update({k: v for k, v in (("hidden", hidden), ("depth", depth), ("heads", heads)) if v})
    return size


def molecule_dit_config(
    codec: MoleculeCodec,
    preset: str = "small",
    *,
    hidden: int | None = None,
    depth: int | None = None,
    heads: int | None = None,
    self_condition: bool = False,
    vector_dim: int = 0,
) -> DiTConfig:
    """A DiT over the codec's tokens (in = out = 3 + K channels), pos_embed="none";
    self_condition: it also sees its previous clean estimate (Chen et al. 2022); vector_dim:
    width of a conditioning vector (1 for the standardised HOMO–LUMO gap)."""
    size = preset_size(preset, hidden=hidden, depth=depth, heads=heads)
    return DiTConfig(
        in_dim=codec.channels,
        pos_embed="none",
        qk_norm=True,
        self_condition=self_condition,
        vector_dim=vector_dim,
        **size,
    )
