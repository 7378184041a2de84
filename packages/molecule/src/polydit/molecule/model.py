"""The molecule DiT: a plain set transformer over atom tokens (no positional embedding; not
equivariant — rotations are handled by augmentation, as in ADiT); the sizes and process that the
molecule, crystal and joint recipes share."""

from __future__ import annotations

from dataclasses import dataclass, field

from polydit.core.dit import DiTConfig
from polydit.core.process import ProcessConfig
from polydit.core.train import SizedTrainSpec
from polydit.molecule.codec import MoleculeCodec

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 64, "depth": 2, "heads": 4},
    "small": {"hidden": 128, "depth": 6, "heads": 4},
    "base": {"hidden": 256, "depth": 8, "heads": 8},
}


@dataclass(frozen=True)
class AtomTrainSpec(SizedTrainSpec):
    """The base of the molecule, crystal and joint TrainSpecs: the DiT size of a :data:`PRESETS`
    entry ("small" unless set) and the process (the core default, flow matching)."""

    presets = PRESETS
    preset: str = "small"
    process: ProcessConfig = field(default_factory=ProcessConfig)


def molecule_dit_config(
    codec: MoleculeCodec, size: dict[str, int], *, self_condition: bool = False, vector_dim: int = 0
) -> DiTConfig:
    """A DiT over the codec's tokens (in = out = 3 + K channels) at `size` (hidden/depth/heads,
    e.g. a :data:`PRESETS` entry), pos_embed="none"; self_condition: it also sees its previous
    clean estimate (Chen et al. 2022); vector_dim: width of a conditioning vector (1 for the
    standardised HOMO–LUMO gap)."""
    return DiTConfig(
        in_dim=codec.channels,
        pos_embed="none",
        qk_norm=True,
        self_condition=self_condition,
        vector_dim=vector_dim,
        **size,
    )
