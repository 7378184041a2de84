"""`CrystalGenerator`: periodic crystals from one DiT (lattice token + one token per atom).

``sample(num, seed)`` draws each structure's atom count from the training histogram (sample i
from seed + i), generates the standardised lattice parameters, fractional coordinates and
one-hot element channels jointly with the ODE sampler, and returns pymatgen Structures (None for
a sample whose lattice is not a real cell).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import torch

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import AffineProcess
from polydit.core.tokens import Tokens
from polydit.molecule.crystal_codec import CrystalCodec
from polydit.molecule.pipeline import draw_atom_counts

CHUNK = 250
KIND = "crystal"


class CrystalGenerator(Pipeline):
    """DiT + process + CrystalCodec + the training set's atom-count histogram."""

    package: ClassVar[str] = "polydit-molecule"
    kind: ClassVar[str] = KIND

    def __init__(
        self,
        model: DiT,
        process: AffineProcess,
        sampling: SamplingConfig | None = None,
        *,
        codec: CrystalCodec,
        size_histogram: list[int],
        data: str = "",
    ):
        super().__init__(model, process, sampling)
        if sum(size_histogram[1:]) <= 0:
            raise ConfigError("size_histogram must count at least one structure with ≥ 1 atom")
        self.codec = codec
        self.size_histogram = list(size_histogram)
        self.data = data

    @property
    def max_atoms(self) -> int:
        return len(self.size_histogram) - 1

    def codec_config(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "crystal": self.codec.to_dict(),
            "size_histogram": self.size_histogram,
            "data": self.data,
        }

    @classmethod
    def from_configs(
        cls, model: DiT, process: AffineProcess, sampling: SamplingConfig, codec: dict[str, Any]
    ) -> Self:
        return cls(
            model,
            process,
            sampling,
            codec=CrystalCodec.from_dict(codec["crystal"]),
            size_histogram=codec["size_histogram"],
            data=codec.get("data", ""),
        )

    def atom_counts(self, num: int, seed: int) -> torch.Tensor:
        """(num,) atom counts from the training histogram; count i drawn from seed + i."""
        return draw_atom_counts(self.size_histogram, num, seed)

    def sample(
        self, num: int, seed: int = 0, *, num_atoms: torch.Tensor | None = None, **overrides: Any
    ) -> list:
        """`num` pymatgen Structures (None where the lattice is not a real cell); sample i from
        seed + i, independent of batching. overrides: steps, sampler, cfg_scale, cache..."""
        counts = self.atom_counts(num, seed) if num_atoms is None else num_atoms.long()
        if len(counts) != num:
            raise ConfigError(f"num_atoms has {len(counts)} entries; expected {num}")
        if int(counts.max()) > self.max_atoms:
            raise ConfigError(f"num_atoms exceeds this model's maximum of {self.max_atoms} atoms")
        out = []
        for start in range(0, num, CHUNK):
            c = counts[start : start + CHUNK]
            mask = torch.arange(1 + self.max_atoms)[None, :] < 1 + c[:, None]
            x = torch.zeros(len(c), 1 + self.max_atoms, self.codec.channels)
            template = Tokens(x, self.codec.positions(mask), mask)
            generated = self.generate(template, seed=seed + start, **overrides)
            out += self.codec.decode(generated.cpu(), mask)
        return out
