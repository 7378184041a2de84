"""`JointGenerator`: one DiT that generates molecules (label 0) or crystals (label 1).

``generator.for_kind("molecule")`` is a :class:`MoleculeGenerator` and
``for_kind("crystal")`` a :class:`CrystalGenerator` sharing the joint network: their sampling,
decoding, writers and metrics are the single-domain ones; only ``generate`` differs — it moves
the kind's template into the joint layout (:class:`JointCodec`), samples with the kind's class
label and moves the result back (so element argmax runs over the kind's own alphabet).
``sample(num, seed, kind=...)`` returns RDKit Mols or pymatgen Structures.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.codec import GeneratedAtoms
from polydit.molecule.crystal.pipeline import CrystalGenerator
from polydit.molecule.joint.codec import JointCodec, kind_label
from polydit.molecule.joint.model import JointDiT, channel_masks
from polydit.molecule.pipeline import KindPipeline, MoleculeGenerator


class _JointKind:
    """Mixin for a kind generator over the joint network: generate in the joint layout."""

    joint_codec: JointCodec
    kind: ClassVar[str]

    def generate(self, template: Tokens, cond: Cond | None = None, **kwargs: Any) -> torch.Tensor:
        if cond is not None:
            raise ConfigError("the joint model takes no conditioning besides its kind (no --gap)")
        joint = self.joint_codec.to_joint(self.kind, template)
        labels = torch.full((template.x.shape[0],), kind_label(self.kind), dtype=torch.long)
        x = Pipeline.generate(self, joint, Cond(labels=labels), **kwargs)  # type: ignore[arg-type]
        return self.joint_codec.from_joint(self.kind, x, joint.mask).x


class JointMoleculeGenerator(_JointKind, MoleculeGenerator):
    """The molecule side of a joint model (label 0)."""


class JointCrystalGenerator(_JointKind, CrystalGenerator):
    """The crystal side of a joint model (label 1)."""


class JointGenerator(KindPipeline):
    """Joint DiT + process + :class:`JointCodec`; ``sampling`` is the molecule kind's default,
    ``codec.crystal_sampling`` the crystal kind's."""

    kind: ClassVar[str] = "joint"
    codec_type = JointCodec
    codec: JointCodec

    def configure(self) -> None:
        self._kinds: dict[str, MoleculeGenerator | CrystalGenerator] = {}

    def for_kind(self, kind: str) -> MoleculeGenerator | CrystalGenerator:
        """The kind's generator (shares this model; built once)."""
        kind_label(kind)
        if kind not in self._kinds:
            view_type = JointMoleculeGenerator if kind == "molecule" else JointCrystalGenerator
            sampling = self.sampling if kind == "molecule" else self.codec.crystal_sampling
            view: Any = view_type(self.model, self.process, sampling, codec=self.codec.of(kind))
            view.joint_codec = self.codec
            self._kinds[kind] = view
        return self._kinds[kind]

    def sample(self, num: int, seed: int = 0, *, kind: str, **kwargs: Any) -> list:
        """`num` RDKit Mols (kind "molecule") or pymatgen Structures (kind "crystal")."""
        return self.for_kind(kind).sample(num, seed, **kwargs)

    def generate_atoms(self, num: int, seed: int = 0, **kwargs: Any) -> GeneratedAtoms:
        """Molecules as decoded types / coordinates (:meth:`MoleculeGenerator.generate_atoms`)."""
        return self.for_kind("molecule").generate_atoms(num, seed, **kwargs)

    @classmethod
    def build_model(cls, config: DiTConfig, codec: dict[str, Any]) -> DiT:
        """A :class:`JointDiT` with the codec's channel masks and (molecule rows) pair head."""
        joint = JointCodec.from_dict(codec, "codec")
        return JointDiT(config, channel_masks(joint), pair_bias=joint.molecule.pair_bias)
