"""`JointGenerator`: one DiT that generates molecules (label 0) or crystals (label 1).

``generator.for_kind("molecule")`` is a :class:`MoleculeGenerator` and
``for_kind("crystal")`` a :class:`CrystalGenerator` sharing the joint network: their sampling,
decoding, writers and metrics are the single-domain ones; only ``generate`` differs — it moves
the kind's template into the joint layout (:class:`JointCodec`), samples with the kind's class
label and moves the result back (so element argmax runs over the kind's own alphabet).
``sample(num, seed, kind=...)`` returns RDKit Mols or pymatgen Structures.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import torch

from polydit.core.config import from_dict, to_dict
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import AffineProcess
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.crystal_pipeline import CrystalGenerator
from polydit.molecule.joint_codec import KINDS, JointCodec, kind_label
from polydit.molecule.joint_model import JointDiT, channel_masks
from polydit.molecule.pipeline import MoleculeGenerator

KIND = "joint"


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
        return self.joint_codec.from_joint(self.kind, x, joint.mask)[0]


class JointMoleculeGenerator(_JointKind, MoleculeGenerator):
    """The molecule side of a joint model (label 0)."""


class JointCrystalGenerator(_JointKind, CrystalGenerator):
    """The crystal side of a joint model (label 1)."""


class JointGenerator(Pipeline):
    """Joint DiT + process + JointCodec + per kind: training-set name, atom-count histogram and
    default sampling settings. ``sampling`` (the Pipeline's) is the molecule one."""

    package: ClassVar[str] = "polydit-molecule"
    kind: ClassVar[str] = KIND

    def __init__(
        self,
        model: DiT,
        process: AffineProcess,
        sampling: SamplingConfig | None = None,
        *,
        codec: JointCodec,
        size_histograms: dict[str, list[int]],
        data: dict[str, str],
        kind_sampling: dict[str, SamplingConfig],
        centre_noise: bool = True,
    ):
        super().__init__(model, process, sampling or kind_sampling["molecule"])
        for name, table in (("size_histograms", size_histograms), ("data", data)):
            if set(table) != set(KINDS):
                raise ConfigError(f"JointGenerator.{name} needs exactly the keys {KINDS}")
        self.codec = codec
        self.size_histograms = {k: list(v) for k, v in size_histograms.items()}
        self.datasets = dict(data)
        self.kind_sampling = dict(kind_sampling)
        self.centre_noise = centre_noise
        self._kinds: dict[str, MoleculeGenerator | CrystalGenerator] = {}

    @property
    def data(self) -> str:
        return "+".join(self.datasets[k] for k in KINDS)

    @property
    def max_atoms(self) -> dict[str, int]:
        return {k: len(h) - 1 for k, h in self.size_histograms.items()}

    def for_kind(self, kind: str) -> MoleculeGenerator | CrystalGenerator:
        """The kind's generator (shares this model; built once)."""
        kind_label(kind)
        if kind not in self._kinds:
            common = {
                "size_histogram": self.size_histograms[kind],
                "data": self.datasets[kind],
            }
            sampling = self.kind_sampling[kind]
            if kind == "molecule":
                view: Any = JointMoleculeGenerator(
                    self.model,
                    self.process,
                    sampling,
                    codec=self.codec.molecule,
                    centre_noise=self.centre_noise,
                    **common,
                )
            else:
                view = JointCrystalGenerator(
                    self.model, self.process, sampling, codec=self.codec.crystal, **common
                )
            view.joint_codec = self.codec
            self._kinds[kind] = view
        return self._kinds[kind]

    def sample(self, num: int, seed: int = 0, *, kind: str, **kwargs: Any) -> list:
        """`num` RDKit Mols (kind "molecule") or pymatgen Structures (kind "crystal")."""
        return self.for_kind(kind).sample(num, seed, **kwargs)

    def generate_atoms(self, num: int, seed: int = 0, **kwargs: Any):
        """Molecules as decoded types / coordinates (:meth:`MoleculeGenerator.generate_atoms`)."""
        return self.for_kind("molecule").generate_atoms(num, seed, **kwargs)

    def codec_config(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "joint": self.codec.to_dict(),
            "size_histograms": self.size_histograms,
            "data": self.datasets,
            "sampling": {k: to_dict(v) for k, v in self.kind_sampling.items()},
            "centre_noise": self.centre_noise,
            "pair_bias": getattr(self.model, "pair", None) is not None,
            "kind_channels": self.kind_channels,
        }

    @property
    def kind_channels(self) -> bool:
        """Whether each row reads only its kind's channels (see :mod:`joint_model`)."""
        masks = getattr(self.model, "channel_masks", None)
        return masks is not None and not bool(masks.all())

    @classmethod
    def build_model(cls, config: DiTConfig, codec: dict[str, Any]) -> DiT:
        try:
            joint = JointCodec.from_dict(codec["joint"])
        except KeyError:
            raise ConfigError("config.json: codec of a joint model lacks 'joint'") from None
        masks = channel_masks(joint, codec.get("kind_channels", False))
        return JointDiT(config, masks, pair_bias=codec.get("pair_bias", False))

    @classmethod
    def from_configs(
        cls, model: DiT, process: AffineProcess, sampling: SamplingConfig, codec: dict[str, Any]
    ) -> Self:
        where = "config.json: codec.sampling"
        try:
            return cls(
                model,
                process,
                sampling,
                codec=JointCodec.from_dict(codec["joint"]),
                size_histograms=codec["size_histograms"],
                data=codec["data"],
                kind_sampling={
                    k: from_dict(SamplingConfig, v, where=f"{where}.{k}")
                    for k, v in codec["sampling"].items()
                },
                centre_noise=codec.get("centre_noise", True),
            )
        except KeyError as e:
            raise ConfigError(f"config.json: codec of a joint model lacks {e}") from None
