"""Crystals ↔ tokens: one lattice token followed by one token per atom (ADiT's periodic case).

Channels: [f_a, f_b, f_c (fractional coordinates in [0, 1)) | element one-hot · type_scale |
6 lattice channels]. Token 0 carries the lattice — lengths / n^(1/3) (Å, n = atom count, as
MP-20 processing scales them) and angles in radians — in the lattice channels and zeros
elsewhere; atom tokens have zeros in the lattice channels. Fractional coordinates and types
round-trip exactly; lattice parameters to float precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens

LATTICE_DIMS = 6


@dataclass(frozen=True)
class CrystalCodec:
    """elements: the alphabet (index i ↔ one-hot channel i)."""

    elements: tuple[str, ...]
    type_scale: float = 0.25

    def __post_init__(self) -> None:
        if not self.elements:
            raise ConfigError("CrystalCodec.elements must not be empty")

    @property
    def channels(self) -> int:
        return 3 + len(self.elements) + LATTICE_DIMS

    def encode(self, structures: list) -> Tokens:
        """pymatgen Structures → Tokens x (B, 1 + N_max, C), mask (lattice token always real)."""
        n_max = max(len(s) for s in structures)
        k = len(self.elements)
        index = {e: i for i, e in enumerate(self.elements)}
        x = torch.zeros(len(structures), 1 + n_max, self.channels)
        mask = torch.zeros(len(structures), 1 + n_max, dtype=torch.bool)
        for b, s in enumerate(structures):
            n = len(s)
            lat = s.lattice
            lengths = np.array(lat.abc) / n ** (1 / 3)
            angles = np.radians(lat.angles)
            x[b, 0, 3 + k :] = torch.tensor(np.concatenate([lengths, angles]), dtype=torch.float)
            x[b, 1 : 1 + n, :3] = torch.tensor(s.frac_coords % 1.0, dtype=torch.float)
            types = torch.tensor([index[str(site.specie)] for site in s])
            x[b, 1 : 1 + n, 3 : 3 + k] = (
                torch.nn.functional.one_hot(types, k).float() * self.type_scale
            )
            mask[b, : 1 + n] = True
        return Tokens(x, None, mask)

    def decode(self, x: Tensor, mask: Tensor) -> list:
        """Tokens → pymatgen Structures (fractional coordinates wrapped into [0, 1))."""
        from pymatgen.core import Lattice, Structure

        k = len(self.elements)
        out = []
        for b in range(x.shape[0]):
            n = int(mask[b].sum()) - 1
            params = x[b, 0, 3 + k :].double().numpy()
            lengths = params[:3] * max(n, 1) ** (1 / 3)
            angles = np.degrees(params[3:])
            lattice = Lattice.from_parameters(*lengths, *angles)
            types = x[b, 1 : 1 + n, 3 : 3 + k].argmax(-1).tolist()
            frac = x[b, 1 : 1 + n, :3].double().numpy() % 1.0
            out.append(Structure(lattice, [self.elements[t] for t in types], frac))
        return out
