"""One token layout for molecules and crystals (the joint model), built from the two kind codecs.

Every sample is one slot token followed by one token per atom, all of width
``3 + K + 6``: [3 coordinate channels | one-hot over the merged alphabet (K elements, the union
of both alphabets ordered by atomic number; an element both kinds use shares its channel) ·
type_scale | 6 lattice channels].

- crystal: exactly :class:`CrystalCodec`'s tokens with its element channels moved to their
  merged positions — slot token = the lattice token, coordinates = fractional in token units;
- molecule: :class:`MoleculeCodec`'s tokens (coordinates in Å) moved the same way after an
  empty, masked-out slot: a molecule has no lattice token, so nothing is generated or scored
  there. Its atoms' lattice channels are zero, as are a crystal's atoms' (both carry loss).

``Tokens.pos`` is 0 for the slot and 1 for atoms (the crystal model's convention). Decoding takes
a kind's own channels back out (so the element argmax runs over that kind's alphabet only) and
hands them to the kind's codec: ``decode(encode(·))`` is exactly the kind codec's round trip.
A batch is ``{"molecule": MoleculeCodec batch, "crystal": CrystalCodec batch}`` (either may be
absent); its tokens are the molecules' rows, then the crystals', padded to one length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.tokens import Tokens
from polydit.molecule.codec import COORD_DIMS, MoleculeCodec
from polydit.molecule.crystal.codec import LATTICE_DIMS, CrystalCodec

KINDS = ("molecule", "crystal")
LABELS = {"molecule": 0, "crystal": 1}  # the DiT's class label of each kind


def kind_label(kind: str) -> int:
    """The class label of `kind` ("molecule" → 0, "crystal" → 1)."""
    if kind not in LABELS:
        raise ConfigError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return LABELS[kind]


@dataclass(frozen=True)
class JointCodec(JsonConfig):
    """molecule / crystal: the two kind codecs (their type_scale must agree); kind_channels: each
    row reads (and is noised on) only its kind's channels (:mod:`polydit.molecule.joint.model`);
    the molecule codec's ``pair_bias`` puts the distance pair head on molecule rows;
    crystal_sampling: the crystal kind's default sampling settings (the generator's own
    ``sampling`` is the molecule kind's: a Pipeline stores one)."""

    molecule: MoleculeCodec
    crystal: CrystalCodec
    kind_channels: bool = True
    crystal_sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        if self.molecule.type_scale != self.crystal.type_scale:
            raise ConfigError(
                "JointCodec: molecule.type_scale and crystal.type_scale must be equal, got "
                f"{self.molecule.type_scale} and {self.crystal.type_scale}"
            )

    def of(self, kind: str) -> MoleculeCodec | CrystalCodec:
        """The codec of `kind`."""
        return self.molecule if kind_label(kind) == LABELS["molecule"] else self.crystal

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
        return Tokens(out, CrystalCodec.positions(mask).to(x), mask)

    def from_joint(self, kind: str, x: Tensor, mask: Tensor) -> Tokens:
        """Joint features (B, 1 + N, C) and mask → the kind's own tokens (positions dropped)."""
        x = x[..., self.channel_index(kind).to(x.device)]
        if kind_label(kind) == LABELS["molecule"]:
            return Tokens(x[:, 1:], None, mask[:, 1:])
        return Tokens(x, None, mask)

    def join(self, own: dict[str, Tokens]) -> tuple[Tokens, Tensor]:
        """Each kind's own tokens (KINDS order) → one joint batch (ΣB, max length, C), padding
        masked, and its class labels (ΣB,)."""
        parts = [self.to_joint(kind, own[kind]) for kind in KINDS if kind in own]
        labels = [torch.full((own[k].x.shape[0],), kind_label(k)) for k in KINDS if k in own]
        return pad_cat(parts), torch.cat(labels)

    def encode(self, batch: dict[str, Any]) -> Tokens:
        """A joint batch (module docstring) → its joint tokens (labels: :meth:`join`)."""
        return self.join(
            {kind: self.of(kind).encode(batch[kind]) for kind in KINDS if kind in batch}
        )[0]

    def decode(self, x: Tensor, template: Tokens, kind: str = "molecule") -> Any:
        """Joint features (B, 1 + N, C) of `kind` samples on `template` → that kind's objects."""
        own = self.from_joint(kind, x, template.mask)
        return self.of(kind).decode(own.x, own)

    def template(self, num: int, seed: int = 0, kind: str = "molecule") -> Tokens:
        """The kind codec's template, in the joint layout."""
        return self.to_joint(kind, self.of(kind).template(num, seed))


def pad_cat(parts: list[Tokens]) -> Tokens:
    """Joint tokens of several batches (B_i, L_i, C) → one (ΣB_i, max L_i, C), padding masked."""
    length = max(p.x.shape[1] for p in parts)
    xs, masks, pos = [], [], []
    for p in parts:
        extra = length - p.x.shape[1]
        xs.append(torch.nn.functional.pad(p.x, (0, 0, 0, extra)))
        masks.append(torch.nn.functional.pad(p.mask, (0, extra), value=False))
        pos.append(torch.nn.functional.pad(p.pos, (0, 0, 0, extra), value=1.0))
    return Tokens(torch.cat(xs), torch.cat(pos), torch.cat(masks))
