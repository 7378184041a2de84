"""One token layout for molecules and crystals (the joint model), built from the two codecs.

Every sample is one slot token followed by one token per atom, all of width
``3 + K + 6``: [3 coordinate channels | one-hot over the merged alphabet (K elements, the union
of both alphabets ordered by atomic number; an element both kinds use shares its channel) ·
type_scale | 6 lattice channels].

- crystal: exactly :class:`CrystalCodec`'s tokens with its element channels moved to their
  merged positions — slot token = the lattice token, coordinates = fractional in token units;
- molecule: :class:`AtomCodec`'s tokens (coordinates in Å) moved the same way after an empty,
  masked-out slot: a molecule has no lattice token, so nothing is generated or scored there.
  Its atoms' lattice channels are zero, as are a crystal's atoms' (both carry loss).

``Tokens.pos`` is 0 for the slot and 1 for atoms (the crystal model's convention). Decoding takes
a kind's own channels back out (so the element argmax runs over that kind's alphabet only) and
hands them to the kind's codec: ``decode(encode(·))`` is exactly the kind codec's round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Tokens
from polydit.molecule.codec import COORD_DIMS, AtomCodec
from polydit.molecule.crystal_codec import LATTICE_DIMS, CrystalCodec

KINDS = ("molecule", "crystal")
LABELS = {"molecule": 0, "crystal": 1}  # the DiT's class label of each kind


def kind_label(kind: str) -> int:
    """The class label of `kind` ("molecule" → 0, "crystal" → 1)."""
    if kind not in LABELS:
        raise ConfigError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return LABELS[kind]


@dataclass(frozen=True)
class JointCodec(JsonConfig):
    """molecule / crystal: the two kind codecs (their type_scale must agree)."""

    molecule: AtomCodec
    crystal: CrystalCodec

    def __post_init__(self) -> None:
        if self.molecule.type_scale != self.crystal.type_scale:
            raise ConfigError(
                "JointCodec: molecule.type_scale and crystal.type_scale must be equal, got "
                f"{self.molecule.type_scale} and {self.crystal.type_scale}"
            )

    @property
    def elements(self) -> tuple[str, ...]:
        """The merged alphabet, ordered by atomic number."""
        from pymatgen.core import Element

        merged = set(self.molecule.atom_types) | set(self.crystal.elements)
        return tuple(sorted(merged, key=lambda e: Element(e).Z))

    @property
    def channels(self) -> int:
        return COORD_DIMS + len(self.elements) + LATTICE_DIMS

    def channel_index(self, kind: str) -> Tensor:
        """(C_kind,) the joint channel of every channel of `kind`'s own layout."""
        slot = {e: COORD_DIMS + i for i, e in enumerate(self.elements)}
        coords = list(range(COORD_DIMS))
        if kind_label(kind) == LABELS["molecule"]:
            return torch.tensor(coords + [slot[a] for a in self.molecule.atom_types])
        lattice = range(self.channels - LATTICE_DIMS, self.channels)
        return torch.tensor(coords + [slot[e] for e in self.crystal.elements] + list(lattice))

    def channel_mask(self, kind: str) -> Tensor:
        """(C,) bool: True on the channels `kind` uses."""
        mask = torch.zeros(self.channels, dtype=torch.bool)
        mask[self.channel_index(kind)] = True
        return mask

    @staticmethod
    def positions(mask: Tensor) -> Tensor:
        """Tokens.pos (B, N, 1): 0 for the slot token, 1 for atoms."""
        return CrystalCodec.positions(mask)

    def to_joint(self, kind: str, tokens: Tokens) -> Tokens:
        """A kind's own tokens → joint tokens (B, 1 + N, C); a molecule gains a masked slot."""
        x, mask = tokens.x, tokens.mask
        b = x.shape[0]
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        if kind_label(kind) == LABELS["molecule"]:
            x = torch.cat([x.new_zeros(b, 1, x.shape[-1]), x], 1)
            mask = torch.cat([mask.new_zeros(b, 1), mask], 1)
        out = x.new_zeros(*x.shape[:2], self.channels)
        out[..., self.channel_index(kind).to(x.device)] = x
        return Tokens(out, self.positions(mask).to(x), mask)

    def from_joint(self, kind: str, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Joint features (B, 1 + N, C) and mask → the kind's own (features, mask)."""
        x = x[..., self.channel_index(kind).to(x.device)]
        if kind_label(kind) == LABELS["molecule"]:
            return x[:, 1:], mask[:, 1:]
        return x, mask

    def encode_molecules(self, types: Tensor, coords: Tensor, mask: Tensor | None = None) -> Tokens:
        """types (B, N) long (−1 pad), coords (B, N, 3) Å → joint Tokens (B, 1 + N, C)."""
        return self.to_joint("molecule", self.molecule.encode(types, coords, mask))

    def decode_molecules(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Joint (B, 1 + N, C) → (types (B, N) over the molecule alphabet, coords (B, N, 3))."""
        return self.molecule.decode(*self.from_joint("molecule", x, mask))

    def encode_crystals(self, structures: list) -> Tokens:
        """pymatgen Structures → joint Tokens (B, 1 + N, C)."""
        return self.to_joint("crystal", self.crystal.encode(structures))

    def decode_crystals(self, x: Tensor, mask: Tensor) -> list:
        """Joint (B, 1 + N, C) → Structures (None where the lattice is not a real cell)."""
        return self.crystal.decode(*self.from_joint("crystal", x, mask))
