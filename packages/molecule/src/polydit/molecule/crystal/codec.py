"""Crystals ↔ tokens: one lattice token followed by one token per atom (ADiT's periodic case).

Channels: [(f_a, f_b, f_c) − frac_shift) · frac_scale (fractional coordinates f in [0, 1)) |
element one-hot · type_scale | 6 lattice channels]. Token 0 carries the lattice — lengths /
n^(1/3) (Å, n = atom count, as MP-20 processing scales them) and angles in radians, each
standardised by ``lattice_mean`` / ``lattice_std`` — in the lattice channels and zeros elsewhere;
atom tokens have zeros in the lattice channels. Tokens.pos (B, N, 1) is 0 for the lattice token and
1 for atoms, so a set model can tell them apart. Fractional coordinates and types round-trip
exactly (defaults); lattice parameters to float precision. A decoded lattice pymatgen cannot
build (non-finite, non-positive lengths or volume) decodes to None.

A batch (what :meth:`CrystalCodec.encode` takes, :meth:`CrystalCodec.batch` makes from
Structures): ``lattice`` (B, 6) float64 lengths / n^(1/3) and angles, ``frac`` (B, N, 3) float32
fractional coordinates in [0, 1), ``types`` (B, N) long element indices (−1 = padding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens
from polydit.molecule.codec import draw_atom_counts

LATTICE_DIMS = 6


@dataclass(frozen=True)
class CrystalCodec(JsonConfig):
    """elements: the alphabet (index i ↔ one-hot channel i); frac_shift/frac_scale map
    fractional coordinates to token units (0.5 / 2 gives [−1, 1)); lattice_mean/lattice_std
    standardise the 6 lattice parameters; size_histogram: counts[n] = training cells with n
    atoms (drawn for each sample); data: the training set's name (all set from the training
    set, :func:`polydit.molecule.crystal.data.fit_codec`)."""

    elements: tuple[str, ...]
    type_scale: float = 0.25
    frac_shift: float = 0.0
    frac_scale: float = 1.0
    lattice_mean: tuple[float, ...] = (0.0,) * LATTICE_DIMS
    lattice_std: tuple[float, ...] = (1.0,) * LATTICE_DIMS
    size_histogram: tuple[int, ...] = ()
    data: str = ""

    def __post_init__(self) -> None:
        if not self.elements:
            raise ConfigError("CrystalCodec.elements must not be empty")
        if len(self.lattice_mean) != LATTICE_DIMS or len(self.lattice_std) != LATTICE_DIMS:
            raise ConfigError("CrystalCodec.lattice_mean/lattice_std need 6 values each")
        if min(self.lattice_std) <= 0 or self.frac_scale <= 0:
            raise ConfigError("CrystalCodec.lattice_std and frac_scale must be > 0")

    @property
    def channels(self) -> int:
        return 3 + len(self.elements) + LATTICE_DIMS

    @property
    def max_atoms(self) -> int:
        return len(self.size_histogram) - 1

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

    def batch(self, structures: list, atoms: int | None = None) -> dict[str, Tensor]:
        """pymatgen Structures → the batch :meth:`encode` takes, padded to `atoms` atoms
        (default: the largest structure)."""
        n_max = atoms or max(len(s) for s in structures)
        index = {e: i for i, e in enumerate(self.elements)}
        frac = torch.zeros(len(structures), n_max, 3)
        types = torch.full((len(structures), n_max), -1, dtype=torch.long)
        for b, s in enumerate(structures):
            frac[b, : len(s)] = torch.tensor(s.frac_coords % 1.0, dtype=torch.float)
            types[b, : len(s)] = torch.tensor([index[str(site.specie)] for site in s])
        lattice = torch.from_numpy(np.stack([self.lattice_params(s) for s in structures]))
        return {"lattice": lattice, "frac": frac, "types": types}

    def encode(self, batch: dict[str, Tensor]) -> Tokens:
        """A batch (module docstring) → Tokens x (B, 1 + N, C), pos, mask (lattice token real)."""
        types, k = batch["types"], len(self.elements)
        real = types >= 0
        mask = torch.cat([torch.ones(len(types), 1, dtype=torch.bool), real], 1)
        x = torch.zeros(*mask.shape, self.channels)
        mean = torch.tensor(self.lattice_mean, dtype=torch.float64)
        std = torch.tensor(self.lattice_std, dtype=torch.float64)
        x[:, 0, 3 + k :] = ((batch["lattice"] - mean) / std).float()
        atoms = real[..., None]
        x[:, 1:, :3] = torch.where(atoms, self.frac_to_tokens(batch["frac"]), 0.0)
        onehot = torch.nn.functional.one_hot(types.clamp_min(0), k).float() * self.type_scale
        x[:, 1:, 3 : 3 + k] = torch.where(atoms, onehot, 0.0)
        return Tokens(x, self.positions(mask).to(x), mask)

    def decode(self, x: Tensor, template: Tokens) -> list:
        """Tokens (B, 1 + N, C) on `template`'s mask → pymatgen Structures (fractional
        coordinates wrapped into [0, 1)); None where the decoded lattice cannot be built."""
        k = len(self.elements)
        mean, std = np.array(self.lattice_mean), np.array(self.lattice_std)
        out = []
        for b in range(x.shape[0]):
            n = int(template.mask[b].sum()) - 1
            params = x[b, 0, 3 + k :].double().numpy() * std + mean
            lengths = params[:3] * max(n, 1) ** (1 / 3)
            angles = np.degrees(params[3:])
            types = x[b, 1 : 1 + n, 3 : 3 + k].argmax(-1).tolist()
            frac = self.tokens_to_frac(x[b, 1 : 1 + n, :3].double()).numpy() % 1.0
            out.append(_build(lengths, angles, [self.elements[t] for t in types], frac))
        return out

    def template(self, num: int, seed: int = 0, num_atoms: Tensor | None = None) -> Tokens:
        """Zeros (num, 1 + max_atoms, C) masked to the lattice token + each sample's atom count:
        `num_atoms`, else drawn from the histogram (count i from seed + i)."""
        counts = self.atom_counts(num, seed) if num_atoms is None else num_atoms.long()
        if len(counts) != num:
            raise ConfigError(f"num_atoms has {len(counts)} entries; expected {num}")
        if int(counts.max()) > self.max_atoms:
            raise ConfigError(f"num_atoms exceeds this model's maximum of {self.max_atoms} atoms")
        mask = torch.arange(1 + self.max_atoms)[None, :] < 1 + counts[:, None]
        x = torch.zeros(num, 1 + self.max_atoms, self.channels)
        return Tokens(x, self.positions(mask), mask)

    def atom_counts(self, num: int, seed: int) -> Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return draw_atom_counts(self.size_histogram, num, seed)


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
