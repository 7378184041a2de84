"""`BondGenerator`: the bond-mode molecule generator (:mod:`polydit.molecule.bond_model`).

Sampling runs one t grid from 1 to 0: at every step one network call gives the clean estimates;
atom and bond types take the core categorical step (``sample_categorical``: ancestral, or
discrete flow matching) and the coordinates the Euler step of the flow towards the estimate,
``x_s = x_t + (s − t)(x_t − x̂0)/t`` (the last step lands on x̂0); a self-conditioned model sees
the previous call's estimates (none at the first). Sample i's atom count, its
starting coordinates (generator seed COORD_SEED_OFFSET + seed + i), its starting types and bonds
and every step's draws depend on seed + i only; chunks of :attr:`sample_rows` rows keep every
network call the same shape, so ``sample(8)`` is bit-identical to the first 8 of ``sample(16)``.
The decoded molecules carry their generated bonds; RDKit Mols and SDF records are built from
them (not from perceived bonds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.core import arguments
from polydit.core.config import from_dict
from polydit.core.edge_dit import EdgeDiT, EdgeDiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import CategoricalSampling, precision, seeded_noise
from polydit.core.process import sample_categorical, time_grid
from polydit.core.process.categorical import STEP_SEED_OFFSET
from polydit.core.sampling.samplers import StepNoise
from polydit.core.tokens import Tokens
from polydit.molecule.bond_model import BondProcess, BondProcessConfig, run_network
from polydit.molecule.codec import GeneratedAtoms, centre, real_pairs
from polydit.molecule.pipeline import MoleculeGenerator

#: sample i's starting coordinates come from a generator seeded COORD_SEED_OFFSET + seed + i
COORD_SEED_OFFSET = 2 * STEP_SEED_OFFSET


@dataclass(frozen=True)
class BondSampling(CategoricalSampling):
    """Sampling defaults of a bond-mode model: `steps` of the shared time grid; atom and bond
    types take the categorical sampler of :class:`CategoricalSampling` ("polydec" refines the
    steps near the data); coordinates take DDIM steps on the linear path (α = 1 − t, σ = t) with
    stochasticity `coord_eta`: 0 is the Euler step of the flow (deterministic), 1 DDPM's
    posterior (fresh centred noise every step, as EDM samples)."""

    steps: int = 100
    coord_eta: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.coord_eta <= 1.0:
            raise ConfigError(f"--coord-eta must be in [0, 1], got {self.coord_eta}")


class BondGenerator(MoleculeGenerator):
    """EdgeDiT + :class:`BondProcess` + a bond-mode :class:`MoleculeCodec`."""

    model_config_type = EdgeDiTConfig
    sampling_config_type = BondSampling
    default_sampling: ClassVar[BondSampling] = BondSampling()
    process: BondProcess
    sampling: BondSampling

    def configure(self) -> None:
        if not self.codec.bonds or self.codec.gap is not None:
            raise ConfigError("a bond-mode model needs codec.bonds = true and no gap")

    @classmethod
    def build_model(cls, config: EdgeDiTConfig, codec: dict[str, Any]) -> EdgeDiT:  # type: ignore[override]
        return EdgeDiT(config)

    @classmethod
    def process_from_config(cls, config: dict[str, Any], where: str) -> BondProcess:
        return BondProcess(from_dict(BondProcessConfig, config, where=where))

    def generate_atoms(
        self,
        num: int,
        seed: int = 0,
        *,
        num_atoms: Tensor | None = None,
        gap: float | Tensor | None = None,
        dtype: str = "fp32",
        cache: str = "none",
        **overrides: Any,
    ) -> GeneratedAtoms:
        """`num` molecules with their bonds (module docstring); overrides: steps, sampler, eta,
        omega, grid (see BondSampling)."""
        if gap is not None:
            raise ConfigError("--gap: this model is not gap-conditioned")
        if cache != "none" or overrides.pop("cache_opts", None):
            raise ConfigError("--cache: a bond-mode model runs without training-free caches")
        if overrides.pop("cfg_scale", 1.0) != 1.0 or overrides.pop("cfg_rescale", 0.0) != 0.0:
            raise ConfigError("--cfg: a bond-mode model is unconditional (no guidance)")
        num, seed = arguments.count(num), arguments.seed(seed)
        settings = self.sampling.override(**overrides)
        template = self.codec.template(num, seed, num_atoms)
        return self._run(template, seed, settings, dtype, None)

    def denoise_from(
        self,
        coords: Tensor,
        types: Tensor,
        bonds: Tensor,
        num_atoms: Tensor,
        t: float,
        seed: int = 0,
        *,
        dtype: str = "fp32",
        **overrides: Any,
    ) -> GeneratedAtoms:
        """Continue sampling from noisy states at time `t` ∈ (0, 1] down to 0 (SDEdit-style:
        e.g. real molecules corrupted to t, as the trajectory probe does) on `steps` steps of
        the grid scaled to [0, t]. coords (B, N, 3) in the codec's units and centred
        (:meth:`MoleculeCodec.encode_bonds`), types (B, N) and bonds (B, N, N) long, num_atoms
        (B,); N ≤ the codec's max_atoms (padded to it). Row i's step randomness comes from
        seed + i."""
        seed = arguments.seed(seed)
        settings = self.sampling.override(**overrides)
        template = self.codec.template(len(num_atoms), seed, num_atoms)
        pad = self.codec.max_atoms - coords.shape[1]
        if pad < 0:
            raise ConfigError(f"{coords.shape[1]} atoms exceed this model's {self.codec.max_atoms}")
        coords = F.pad(coords, (0, 0, 0, pad))
        types, bonds = F.pad(types, (0, pad)), F.pad(bonds, (0, pad, 0, pad))
        return self._run(template, seed, settings, dtype, (coords, types, bonds, float(t)))

    def _run(
        self,
        template: Tokens,
        seed: int,
        settings: BondSampling,
        dtype: str,
        start: tuple[Tensor, Tensor, Tensor, float] | None,
    ) -> GeneratedAtoms:
        """Sample every row of `template` in chunks of :attr:`sample_rows` and decode them."""
        started = time.perf_counter()
        num = template.x.shape[0]
        rows = self.sample_rows or num
        coords, types, bonds = [], [], []
        with torch.no_grad(), precision(dtype, self.device):
            for begin in range(0, num, rows):
                index = torch.arange(begin, begin + rows).clamp(max=num - 1)
                part = None if start is None else (*(v[index] for v in start[:3]), start[3])
                chunk_started = time.perf_counter()
                x, a, b = self._chunk(template.mask[index], seed + begin, settings, part)
                keep = min(rows, num - begin)
                self.record_chunk(keep, time.perf_counter() - chunk_started)
                coords.append(x[:keep].cpu())
                types.append(a[:keep].cpu())
                bonds.append(b[:keep].cpu())
        self.sampling_seconds += time.perf_counter() - started
        k = len(self.codec.atom_types)
        onehot = torch.nn.functional.one_hot(torch.cat(types), k).float()
        x = torch.cat([torch.cat(coords) / self.codec.coord_scale, onehot], -1)
        return self.codec.decode_bonds(x, torch.cat(bonds), template)

    def _chunk(
        self,
        mask: Tensor,
        seed: int,
        settings: BondSampling,
        start: tuple[Tensor, Tensor, Tensor, float] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(coords (R, N, 3), types (R, N), bonds (R, N, N)) of one chunk; row i from seed + i;
        from `start` = (coords, types, bonds, t) instead of the noise at t = 1 when given."""
        device, (r, n) = self.device, mask.shape
        mask = mask.to(device)
        pairs = real_pairs(mask)
        if start is None:
            x, t_start, states = (
                seeded_noise((r, n, 3), COORD_SEED_OFFSET + seed, device),
                1.0,
                None,
            )
        else:
            x, t_start = start[0].to(device), start[3]
            states = (start[1].to(device), start[2].to(device))
        state: dict[str, Any] = {"x": centre(x, mask), "previous": None}
        self_condition = self.model.config.self_condition
        # sample_categorical calls `denoise` once per step of this grid, in order (t = grid[k]);
        # the coordinates take their step from grid[k] to grid[k + 1] in the same call
        grid = time_grid(settings.steps, settings.grid) * t_start
        step = iter(range(settings.steps))
        noise = StepNoise(COORD_SEED_OFFSET + seed, r, settings.steps)

        def denoise(states: tuple[Tensor, ...], t: Tensor) -> tuple[Tensor, Tensor]:
            types, bonds = states
            out = run_network(self.model, state["x"], types, bonds, mask, t, state["previous"])
            if self_condition:
                state["previous"] = out
            k = next(step)
            now, then = float(grid[k]), float(grid[k + 1])
            state["x"] = coordinate_step(
                state["x"], out.coords.float(), now, then, settings.coord_eta, noise, mask
            )
            return out.type_logits, out.bond_logits

        def project(states: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
            types, bonds = states
            upper = torch.triu(bonds, 1)
            return torch.where(mask, types, 0), torch.where(pairs, upper + upper.transpose(1, 2), 0)

        types, bonds = sample_categorical(
            (self.process.types, self.process.bonds),
            denoise,
            ((r, n), (r, n, n)),
            settings.steps,
            seed,
            sampler=settings.sampler,
            eta=settings.eta,
            omega=settings.omega,
            grid=settings.grid,
            project=project,
            device=device,
            start=states,
            t_start=t_start,
        )
        return state["x"], types, bonds

    def sample(self, num: int, seed: int = 0, **kwargs: Any) -> list[Any]:
        """`num` RDKit Mols with their generated bonds (explicit H, 3D conformer, sanitised when
        possible; the properties of :func:`polydit.molecule.io.to_rdkit`)."""
        from polydit.molecule.io import to_rdkit

        atoms = self.generate_atoms(num, seed, **kwargs)
        return [to_rdkit(*atoms.molecule(i), atoms.bond_orders(i)) for i in range(num)]


def coordinate_step(
    x: Tensor, x0: Tensor, t: float, s: float, eta: float, noise: StepNoise, mask: Tensor
) -> Tensor:
    """Coordinates x_t (R, N, 3) → x_s, s < t, by DDIM on the linear path (α = 1 − t, σ = t)
    towards the clean estimate x0: ``x_s = α_s x̂0 + √(σ_s² − c²) ε̂ + c z`` with ε̂ = (x_t −
    α_t x̂0)/σ_t and ``c² = η² σ_s² (1 − (α_t σ_s / (α_s σ_t))²)`` (η = 0: the flow's Euler step;
    η = 1: DDPM's posterior, the EDM sampler); z is the row's next step noise, centred over its
    atoms (mask). η = 0 is computed as the Euler step ``x_t + (s − t)(x_t − x̂0)/t`` itself."""
    z = noise.like(x)  # drawn every step, so a row's stream does not depend on η
    if eta == 0 or s == 0:
        return centre(x + (s - t) * (x - x0) / t, mask)
    eps = (x - (1 - t) * x0) / t
    c2 = eta**2 * s**2 * (1 - ((1 - t) * s / ((1 - s) * t)) ** 2)
    out = (1 - s) * x0 + max(s**2 - c2, 0.0) ** 0.5 * eps + c2**0.5 * centre(z.to(x), mask)
    return centre(out, mask)
