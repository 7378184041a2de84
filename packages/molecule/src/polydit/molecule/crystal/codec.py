"""Crystals ↔ tokens: one lattice token followed by one token per atom (ADiT's periodic case).

Channels: [(f_a, f_b, f_c) − frac_shift) · frac_scale (fractional coordinates f in [0, 1)) |
element one-hot · type_scale | 6 lattice channels]. Token 0 carries the lattice — lengths /
n^(1/3) (Å, n = atom count, as MP-20 processing scales them) and angles in radians, each
standardised by ``lattice_mean`` / ``lattice_std`` — in the lattice channels and zeros elsewhere;
atom tokens have zeros in the lattice channels. Tokens.pos (B, N, 1) is 0 for the lattice token and
1 for atoms, so a set model can tell them apart. Fractional coordinates and types round-trip
exactly (defaults); lattice parameters to float precision. A decoded lattice pymatgen cannot
build (non-finite, non-positive lengths or volume) decodes to None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens

LATTICE_DIMS = 6


@dataclass(frozen=True)
class CrystalCodec(JsonConfig):
    """elements: the alphabet (index i ↔ one-hot channel i); frac_shift/frac_scale map
    fractional coordinates to token units (0.5 / 2 gives [−1, 1)); lattice_mean/lattice_std
    standardise the 6 lattice parameters (set from the training set)."""

    elements: tuple[str, ...]
    type_scale: float = 0.25
    frac_shift: float = 0.0
    frac_scale: float = 1.0
    lattice_mean: tuple[float, ...] = (0.0,) * LATTICE_DIMS
    lattice_std: tuple[float, ...] = (1.0,) * LATTICE_DIMS

    def __post_init__(self) -> None:
        if not self.elements:
            raise ConfigError("CrystalCodec.elements must not be empty")
        if len(self.lattice_mean) != LATTICE_DIMS or len(self.lattice_std) != LATTICE_DIMS:
            raise ConfigError("CrystalCodec.lattice_mean/lattice_std need 6 values each")
        if min(self.lattice_std) <= 0 or self.frac_scale <= 0:
            raise ConfigError("CrystalCodec.lattice_std and frac_scale must be > 0")

    @staticmethod
    def lattice_params(structure) -> np.ndarray:
        """(6,) lengths / n^(1/3) (Å) and angles (radians) of a structure."""
        lengths = np.array(structure.lattice.abc) / len(structure) ** (1 / 3)
        return np.concatenate([lengths, np.radians(structure.lattice.angles)])

    @staticmethod
    def positions(mask: Tensor) -> Tensor:
        """Tokens.pos (B, N, 1): 0 for the lattice token (index 0), 1 for atom tokens."""
        pos = torch.ones(*mask.shape, 1)
        pos[:, 0] = 0.0
        return pos

    def frac_to_tokens(self, frac: Tensor) -> Tensor:
        return (frac - self.frac_shift) * self.frac_scale

    def tokens_to_frac(self, x: Tensor) -> Tensor:
        return x / self.frac_scale + self.frac_shift

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
        mean, std = np.array(self.lattice_mean), np.array(self.lattice_std)
        for b, s in enumerate(structures):
            n = len(s)
            params = (self.lattice_params(s) - mean) / std
            x[b, 0, 3 + k :] = torch.tensor(params, dtype=torch.float)
            frac = torch.tensor(s.frac_coords % 1.0, dtype=torch.float)
            x[b, 1 : 1 + n, :3] = self.frac_to_tokens(frac)
            types = torch.tensor([index[str(site.specie)] for site in s])
            x[b, 1 : 1 + n, 3 : 3 + k] = (
                torch.nn.functional.one_hot(types, k).float() * self.type_scale
            )
            mask[b, : 1 + n] = True
        return Tokens(x, self.positions(mask), mask)

    def decode(self, x: Tensor, mask: Tensor) -> list:
        """Tokens → pymatgen Structures (fractional coordinates wrapped into [0, 1)); None where
        the decoded lattice cannot be built."""

        k = len(self.elements)
        mean, std = np.array(self.lattice_mean), np.array(self.lattice_std)
        out = []
        for b in range(x.shape[0]):
            n = int(mask[b].sum()) - 1
            params = x[b, 0, 3 + k :].double().numpy() * std + mean
            lengths = params[:3] * max(n, 1) ** (1 / 3)
            angles = np.degrees(params[3:])
            types = x[b, 1 : 1 + n, 3 : 3 + k].argmax(-1).tolist()
            frac = self.tokens_to_frac(x[b, 1 : 1 + n, :3].double()).numpy() % 1.0
            out.append(_build(lengths, angles, [self.elements[t] for t in types], frac))
        return out


def _build(lengths: np.ndarray, angles: np.ndarray, species: list[str], frac: np.ndarray):
    """A Structure, or None when the lattice is not a real cell."""
    from pymatgen.core import Lattice, Structure

    if not (np.all(np.isfinite(lengths)) and np.all(np.isfinite(angles)) and lengths.min() > 0):
        return None
    try:
        lattice = Lattice.from_parameters(*lengths, *angles)
    except (ValueError, ZeroDivisionError):
        return None
    if not np.isfinite(lattice.volume) or lattice.volume <= 0:
        return None
    return Structure(lattice, species, frac)
