"""Molecules ↔ tokens: one token per atom, [x, y, z (Å), type one-hot · type_scale].

Coordinates are used as given (the data sets store them centred on each molecule's mean), so
decode(encode(·)) returns the coordinates and types exactly (type_scale is a power of two).
Padding tokens are zeros and masked out (``Tokens.mask``); there is no positional embedding
(the tokens are a set). The codec also carries what sampling needs from the training set: its
atom-count histogram (a template's atom counts), its name, the noise convention and the gap
statistics of a gap-conditioned model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens

COORD_DIMS = 3
QM9_ATOMS = ("H", "C", "N", "O", "F")


@dataclass(frozen=True)
class MoleculeCodec(JsonConfig):
    """atom_types: the alphabet (index i ↔ one-hot channel i); type_scale: one-hot amplitude
    (EDM scales one-hot types by 0.25); coord_scale: Å per token unit (1 = Å as in EDM).

    size_histogram: counts[n] = training molecules with n atoms (drawn for each sample); data:
    the training set's name; centre_noise: noise with zero centre of mass over each molecule's
    atoms (EDM/ADiT); gap: (mean, std) in eV of the HOMO–LUMO gap a gap-conditioned model
    standardises its target with; pair_bias: the network adds the distance pair head
    (:mod:`polydit.molecule.pair_bias`) over the coordinate channels; bonds: the bond mode
    (:mod:`polydit.molecule.bond_model`): bond types are generated with the atoms, and a batch's
    ``bonds`` (B, N, N) ride beside the tokens (:meth:`encode_bonds`).
    """

    atom_types: tuple[str, ...] = QM9_ATOMS
    type_scale: float = 0.25
    coord_scale: float = 1.0
    size_histogram: tuple[int, ...] = ()
    data: str = ""
    centre_noise: bool = False
    gap: tuple[float, float] | None = None
    pair_bias: bool = False
    bonds: bool = False

    def __post_init__(self) -> None:
        if not self.atom_types:
            raise ConfigError("MoleculeCodec.atom_types must not be empty")
        if self.type_scale <= 0:
            raise ConfigError(f"MoleculeCodec.type_scale must be > 0, got {self.type_scale}")
        if self.coord_scale <= 0:
            raise ConfigError(f"MoleculeCodec.coord_scale must be > 0, got {self.coord_scale}")

    @property
    def channels(self) -> int:
        return COORD_DIMS + len(self.atom_types)

    @property
    def max_atoms(self) -> int:
        return len(self.size_histogram) - 1

    def encode(self, batch: dict[str, Tensor]) -> Tokens:
        """types (B, N) long (−1 = padding), coords (B, N, 3), mask (B, N) bool → Tokens
        x (B, N, 3 + K), mask."""
        types, coords, mask = batch["types"], batch["coords"], batch["mask"]
        onehot = torch.nn.functional.one_hot(types.clamp_min(0), len(self.atom_types))
        x = torch.cat([coords.float() / self.coord_scale, onehot.float() * self.type_scale], -1)
        return Tokens(x * mask[..., None], None, mask)

    def decode(self, x: Tensor, template: Tokens) -> GeneratedAtoms:
        """Tokens x (B, N, 3 + K) on `template`'s mask → types by argmax (−1 at padding) and
        coordinates (Å; zero at padding)."""
        mask = template.mask
        types = torch.where(mask, x[..., COORD_DIMS:].argmax(-1), -1)
        coords = x[..., :COORD_DIMS] * self.coord_scale * mask[..., None]
        return GeneratedAtoms(types, coords, mask.sum(1), self.atom_types)

    def encode_bonds(self, batch: dict[str, Tensor]) -> tuple[Tokens, Tensor]:
        """The bond mode's state: (:meth:`encode` tokens, bond orders (B, N, N) long, zero at
        padding and on the diagonal)."""
        tokens = self.encode(batch)
        return tokens, torch.where(real_pairs(tokens.mask), batch["bonds"].long(), 0)

    def decode_bonds(self, x: Tensor, bonds: Tensor, template: Tokens) -> GeneratedAtoms:
        """:meth:`decode` plus the bond orders (B, N, N) long (zero wherever an atom is padding)."""
        atoms = self.decode(x, template)
        atoms.bonds = torch.where(real_pairs(template.mask), bonds.long(), 0)
        return atoms

    def template(self, num: int, seed: int = 0, num_atoms: Tensor | None = None) -> Tokens:
        """Zeros (num, max_atoms, 3 + K) masked to each sample's atom count: `num_atoms`, else
        drawn from the histogram (count i from seed + i)."""
        counts = self.atom_counts(num, seed) if num_atoms is None else num_atoms.long()
        if len(counts) != num:
            raise ConfigError(f"num_atoms has {len(counts)} entries; expected {num}")
        if int(counts.max()) > self.max_atoms:
            raise ConfigError(f"num_atoms exceeds this model's maximum of {self.max_atoms} atoms")
        mask = torch.arange(self.max_atoms)[None, :] < counts[:, None]
        return Tokens(torch.zeros(num, self.max_atoms, self.channels), None, mask)

    def layout(self) -> tuple[tuple[str, ...], float, float]:
        """What a token means: (atom_types, type_scale, coord_scale)."""
        return self.atom_types, self.type_scale, self.coord_scale

    def atom_counts(self, num: int, seed: int) -> Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return draw_atom_counts(self.size_histogram, num, seed)


@dataclass
class GeneratedAtoms:
    """Decoded molecules: types (B, N) long (−1 pad), coords (B, N, 3) Å, num_atoms (B,); a
    bond-mode model's bond orders (B, N, N) long (0 none, 1–3), else None."""

    types: Tensor
    coords: Tensor
    num_atoms: Tensor
    atom_types: tuple[str, ...]
    bonds: Tensor | None = None

    def bond_orders(self, i: int) -> np.ndarray | None:
        """(n, n) bond orders of molecule `i`, or None without generated bonds."""
        if self.bonds is None:
            return None
        n = int(self.num_atoms[i])
        return self.bonds[i, :n, :n].numpy()

    def molecule(self, i: int) -> tuple[list[str], np.ndarray]:
        n = int(self.num_atoms[i])
        symbols = [self.atom_types[t] for t in self.types[i, :n].tolist()]
        return symbols, self.coords[i, :n].double().numpy()

    def __len__(self) -> int:
        return len(self.num_atoms)


def real_pairs(mask: Tensor) -> Tensor:
    """(B, N, N) bool: the pairs i ≠ j of real atoms of `mask` (B, N)."""
    eye = torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)
    return mask[:, :, None] & mask[:, None, :] & ~eye


def draw_atom_counts(size_histogram: tuple[int, ...], num: int, seed: int) -> Tensor:
    """(num,) atom counts ≥ 1 drawn from `size_histogram` (index = count); count i from seed + i."""
    p = np.asarray(size_histogram, dtype=np.float64)
    if len(p) < 2 or p[1:].sum() <= 0:
        raise ConfigError("size_histogram must count at least one sample with ≥ 1 atom")
    p[0] = 0.0
    p = p / p.sum()
    draws = [np.random.default_rng(seed + i).choice(len(p), p=p) for i in range(num)]
    return torch.tensor(draws, dtype=torch.long)


def random_rotations(n: int, generator: torch.Generator | None = None) -> Tensor:
    """(n, 3, 3) rotation matrices, uniform on SO(3) (QR of a Gaussian, sign-fixed, det +1)."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    flip = torch.linalg.det(q) < 0
    q[flip, :, 0] = -q[flip, :, 0]
    return q


def centred_noise(shape: tuple[int, ...], mask: Tensor, generator=None, dims: int = COORD_DIMS):
    """Gaussian noise (B, N, C) whose first `dims` channels have zero mean over the real tokens
    (mask (B, N) bool) — the translation-free noise of EDM/ADiT; padding rows are zero."""
    noise = torch.randn(shape, generator=generator)
    return centre(noise, mask.to(noise.device), dims)


def centre(x: Tensor, mask: Tensor, dims: int = COORD_DIMS) -> Tensor:
    """x (B, N, C) with the mean over real tokens removed from its first `dims` channels and
    padding rows zeroed."""
    m = mask[..., None].to(x.dtype)
    head = x[..., :dims] * m
    mean = head.sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp_min(1)
    return torch.cat([(head - mean) * m, x[..., dims:] * m], -1)


def rotate(coords: Tensor, rotations: Tensor) -> Tensor:
    """coords (B, N, 3) rotated by (B, 3, 3) about the origin."""
    return coords @ rotations.transpose(-1, -2)


def rotated(batch: dict[str, Tensor], generator: torch.Generator | None = None) -> dict:
    """A batch whose every molecule is rotated about the origin uniformly at random (ADiT's
    augmentation: the model is not equivariant)."""
    rotations = random_rotations(batch["coords"].shape[0], generator)
    return {**batch, "coords": rotate(batch["coords"], rotations)}
