"""`CrystalGenerator`: periodic crystals from one DiT (lattice token + one token per atom).

``sample(num, seed)`` draws each structure's atom count from the training histogram (sample i
from seed + i), generates the standardised lattice parameters, fractional coordinates and
one-hot element channels jointly, and returns pymatgen Structures (None for a sample whose
lattice is not a real cell).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from polydit.molecule.crystal.codec import CrystalCodec
from polydit.molecule.pipeline import KindPipeline


class CrystalGenerator(KindPipeline):
    """DiT + process + :class:`CrystalCodec`."""

    kind: ClassVar[str] = "crystal"
    codec_type = CrystalCodec
    codec: CrystalCodec

    def atom_counts(self, num: int, seed: int) -> torch.Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return self.codec.atom_counts(num, seed)

    def sample(
        self, num: int, seed: int = 0, *, num_atoms: torch.Tensor | None = None, **overrides: Any
    ) -> list:
        """`num` pymatgen Structures (None where the lattice is not a real cell); sample i from
        seed + i, independent of batching. overrides: steps, sampler, cfg_scale, cache..."""
        template = self.codec.template(num, seed, num_atoms)
        x = self.generate(template, None, seed=seed, **overrides).cpu()
        return self.codec.decode(x, template)
