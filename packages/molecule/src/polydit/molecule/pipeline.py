"""`MoleculeGenerator`: the QM9-style all-atom generator (DiT + flow matching + AtomCodec).

``sample(num, seed)`` draws each molecule's atom count from the training histogram (sample i
from seed + i), generates coordinates and one-hot types jointly with the ODE sampler, decodes
types by argmax and returns RDKit Mols with a 3D conformer and EDM-perceived bonds. With
``centre_noise`` the starting noise has zero centre of mass over each molecule's atoms (EDM/ADiT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline, SamplingConfig, seeded_noise
from polydit.core.process import AffineProcess
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.codec import AtomCodec, centre
from polydit.molecule.pair_bias import PairBiasDiT

CHUNK = 250


@dataclass
class GeneratedAtoms:
    """Decoded samples: types (B, N) long (−1 pad), coords (B, N, 3) Å centred, num_atoms (B,)."""

    types: torch.Tensor
    coords: torch.Tensor
    num_atoms: torch.Tensor
    atom_types: tuple[str, ...]

    def molecule(self, i: int) -> tuple[list[str], np.ndarray]:
        n = int(self.num_atoms[i])
        symbols = [self.atom_types[t] for t in self.types[i, :n].tolist()]
        return symbols, self.coords[i, :n].double().numpy()

    def __len__(self) -> int:
        return len(self.num_atoms)


class MoleculeGenerator(Pipeline):
    """DiT + process + AtomCodec + the training set's atom-count histogram."""

    package: ClassVar[str] = "polydit-molecule"
    kind: ClassVar[str] = "molecule"

    def __init__(
        self,
        model: DiT,
        process: AffineProcess,
        sampling: SamplingConfig | None = None,
        *,
        codec: AtomCodec,
        size_histogram: list[int],
        data: str = "",
        centre_noise: bool = False,
        gap_stats: tuple[float, float] | None = None,
    ):
        super().__init__(model, process, sampling)
        if (gap_stats is not None) != bool(model.config.vector_dim):
            raise ConfigError("gap_stats (mean, std) must be given exactly for a vector_dim model")
        if sum(size_histogram[1:]) <= 0:
            raise ConfigError("size_histogram must count at least one molecule with ≥ 1 atom")
        self.codec = codec
        self.size_histogram = list(size_histogram)
        self.data = data
        self.centre_noise = centre_noise
        self.gap_stats = None if gap_stats is None else (float(gap_stats[0]), float(gap_stats[1]))

    @property
    def max_atoms(self) -> int:
        return len(self.size_histogram) - 1

    def codec_config(self) -> dict[str, Any]:
        return {
            "atoms": self.codec.to_dict(),
            "size_histogram": self.size_histogram,
            "data": self.data,
            "centre_noise": self.centre_noise,
            "pair_bias": isinstance(self.model, PairBiasDiT),
            "gap": None
            if self.gap_stats is None
            else {"mean": self.gap_stats[0], "std": self.gap_stats[1]},
        }

    @classmethod
    def from_configs(
        cls, model: DiT, process: AffineProcess, sampling: SamplingConfig, codec: dict[str, Any]
    ) -> Self:
        return cls(
            model,
            process,
            sampling,
            codec=AtomCodec.from_dict(codec.get("atoms", {})),
            size_histogram=codec["size_histogram"],
            data=codec.get("data", ""),
            centre_noise=codec.get("centre_noise", False),
            gap_stats=None
            if codec.get("gap") is None
            else (codec["gap"]["mean"], codec["gap"]["std"]),
        )

    @classmethod
    def build_model(cls, config: DiTConfig, codec: dict[str, Any]) -> DiT:
        """The core DiT, or a PairBiasDiT for models with the distance pair head."""
        return PairBiasDiT(config) if codec.get("pair_bias", False) else DiT(config)

    def gap_condition(self, gap: float | torch.Tensor | None, num: int) -> Cond | None:
        """Cond with the standardised target gap (eV) as a (num, 1) vector; None = unconditional
        (the DiT's null vector)."""
        if gap is None:
            return None
        if self.gap_stats is None:
            raise ConfigError("--gap: this model is not gap-conditioned")
        target = torch.as_tensor(gap, dtype=torch.float32).reshape(-1).expand(num)
        mean, std = self.gap_stats
        return Cond(vector=((target - mean) / std)[:, None])

    def initial_noise(self, template: Tokens, seed: int) -> torch.Tensor:
        """Seeded noise (sample i from seed + i); coordinates centred over each molecule's atoms
        when ``centre_noise``."""
        noise = seeded_noise(tuple(template.x.shape), seed)
        if not self.centre_noise or template.mask is None:
            return noise
        return centre(noise, template.mask)

    def atom_counts(self, num: int, seed: int) -> torch.Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return draw_atom_counts(self.size_histogram, num, seed)

    def generate_atoms(
        self,
        num: int,
        seed: int = 0,
        *,
        num_atoms: torch.Tensor | None = None,
        dtype: str = "fp32",
        gap: float | torch.Tensor | None = None,
        **overrides: Any,
    ) -> GeneratedAtoms:
        """Generate `num` molecules (sample i from seed + i, independent of batching); gap:
        target HOMO–LUMO gap in eV (a float or (num,)) for a gap-conditioned model
        (``cfg_scale`` in overrides guides it)."""
        cond = self.gap_condition(gap, num)
        counts = self.atom_counts(num, seed) if num_atoms is None else num_atoms.long()
        if len(counts) != num:
            raise ConfigError(f"num_atoms has {len(counts)} entries; expected {num}")
        n = self.max_atoms
        if int(counts.max()) > n:
            raise ConfigError(f"num_atoms exceeds this model's maximum of {n} atoms")
        types, coords = [], []
        for start in range(0, num, CHUNK):
            c = counts[start : start + CHUNK]
            mask = torch.arange(n)[None, :] < c[:, None]
            template = Tokens(torch.zeros(len(c), n, self.codec.channels), None, mask)
            part = None if cond is None else Cond(vector=cond.vector[start : start + CHUNK])
            x = self.generate(template, part, seed=seed + start, dtype=dtype, **overrides)
            t, xyz = self.codec.decode(x.cpu(), mask)
            mean = xyz.sum(1, keepdim=True) / c[:, None, None].clamp_min(1)
            types.append(t)
            coords.append((xyz - mean) * mask[..., None])
        return GeneratedAtoms(torch.cat(types), torch.cat(coords), counts, self.codec.atom_types)

    def sample(self, num: int, seed: int = 0, **kwargs: Any) -> list[Any]:
        """`num` RDKit Mols (explicit H, 3D conformer, EDM-perceived bonds, sanitised when
        possible); property ``polydit_valid`` is 1 for RDKit-valid molecules, else 0."""
        from polydit.molecule.io import to_rdkit

        atoms = self.generate_atoms(num, seed, **kwargs)
        return [to_rdkit(*atoms.molecule(i)) for i in range(num)]


def draw_atom_counts(size_histogram: list[int], num: int, seed: int) -> torch.Tensor:
    """(num,) atom counts ≥ 1 drawn from `size_histogram` (index = count); count i from seed + i."""
    p = np.asarray(size_histogram, dtype=np.float64)
    p[0] = 0.0
    p = p / p.sum()
    draws = [np.random.default_rng(seed + i).choice(len(p), p=p) for i in range(num)]
    return torch.tensor(draws, dtype=torch.long)
