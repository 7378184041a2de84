"""`MoleculeGenerator`: the QM9-style all-atom generator (DiT + flow matching + MoleculeCodec).

``sample(num, seed)`` draws each molecule's atom count from the training histogram (sample i
from seed + i), generates coordinates and one-hot types jointly, decodes types by argmax and
returns RDKit Mols with a 3D conformer and EDM-perceived bonds. With ``centre_noise`` the starting
noise has zero centre of mass over each molecule's atoms (EDM/ADiT).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline, seeded_noise
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.codec import GeneratedAtoms, MoleculeCodec, centre
from polydit.molecule.pair_bias import PairBiasDiT


class KindPipeline(Pipeline):
    """A polydit-molecule pipeline: its config.json also names its kind ("molecule", "crystal"
    or "joint"), which :func:`polydit.molecule.load_pretrained` dispatches on."""

    package: ClassVar[str] = "polydit-molecule"
    kind: ClassVar[str]
    config_sections = ("kind", *Pipeline.config_sections)

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, **super().to_config()}


class MoleculeGenerator(KindPipeline):
    """DiT (+ pair head) + process + :class:`MoleculeCodec`."""

    kind: ClassVar[str] = "molecule"
    codec_type = MoleculeCodec
    codec: MoleculeCodec

    def configure(self) -> None:
        """A gap-conditioned codec needs a vector-conditioned DiT and vice versa."""
        if (self.codec.gap is not None) != bool(self.model.config.vector_dim):
            raise ConfigError("codec.gap (mean, std) must be given exactly for a vector_dim model")

    @classmethod
    def from_config(  # type: ignore[override]
        cls, config: dict[str, Any], state: dict[str, torch.Tensor] | None = None, **kwargs: Any
    ) -> MoleculeGenerator:
        """A bond-mode config (``codec.bonds``) rebuilds a
        :class:`~polydit.molecule.bond_pipeline.BondGenerator`; any other this class."""
        if cls is MoleculeGenerator and config.get("codec", {}).get("bonds", False):
            from polydit.molecule.bond_pipeline import BondGenerator

            return BondGenerator.from_config(config, state, **kwargs)
        return super().from_config(config, state, **kwargs)

    @classmethod
    def build_model(cls, config: DiTConfig, codec: dict[str, Any]) -> DiT:
        """The core DiT, or a PairBiasDiT for models with the distance pair head."""
        return PairBiasDiT(config) if codec.get("pair_bias", False) else DiT(config)

    def gap_condition(self, gap: float | torch.Tensor | None, num: int) -> Cond | None:
        """Cond with the standardised target gap (eV) as a (num, 1) vector; None = unconditional
        (the DiT's null vector)."""
        if gap is None:
            return None
        if self.codec.gap is None:
            raise ConfigError("--gap: this model is not gap-conditioned")
        target = torch.as_tensor(gap, dtype=torch.float32).reshape(-1).expand(num)
        mean, std = self.codec.gap
        return Cond(vector=((target - mean) / std)[:, None])

    def initial_noise(self, template: Tokens, seed: int) -> torch.Tensor:
        """Seeded noise (sample i from seed + i); coordinates centred over each molecule's atoms
        when ``codec.centre_noise``."""
        noise = seeded_noise(tuple(template.x.shape), seed)
        if not self.codec.centre_noise or template.mask is None:
            return noise
        return centre(noise, template.mask)

    def atom_counts(self, num: int, seed: int) -> torch.Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return self.codec.atom_counts(num, seed)

    def generate_atoms(
        self,
        num: int,
        seed: int = 0,
        *,
        num_atoms: torch.Tensor | None = None,
        gap: float | torch.Tensor | None = None,
        **overrides: Any,
    ) -> GeneratedAtoms:
        """Generate `num` molecules (sample i from seed + i, independent of batching), their
        coordinates centred on their atoms; gap: target HOMO–LUMO gap in eV (a float or (num,))
        for a gap-conditioned model (``cfg_scale`` in overrides guides it)."""
        cond = self.gap_condition(gap, num)
        template = self.codec.template(num, seed, num_atoms)
        atoms = self.codec.decode(
            self.generate(template, cond, seed=seed, **overrides).cpu(), template
        )
        atoms.coords = centre(atoms.coords, template.mask)
        return atoms

    def sample(self, num: int, seed: int = 0, **kwargs: Any) -> list[Any]:
        """`num` RDKit Mols (explicit H, 3D conformer, EDM-perceived bonds, sanitised when
        possible); property ``polydit_valid`` is 1 for RDKit-valid molecules, else 0."""
        from polydit.molecule.io import to_rdkit

        atoms = self.generate_atoms(num, seed, **kwargs)
        return [to_rdkit(*atoms.molecule(i)) for i in range(num)]
