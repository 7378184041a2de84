"""The denoising probe (issue 19's pilot metric): real QM9 test molecules noised to a small t
with the model's own process and noise convention, one model call, and EDM's metrics of the
decoded clean estimate (a bond-mode model: its atom and bond types are corrupted by their
categorical processes at the same t, and the argmax of its type and bond logits is scored with
those bonds as well). It measures the denoiser's precision near the data, which is what
sampled molecule stability needs, in about a minute on one core (1,000 molecules × 3 times).

    python -m polydit.bench.molecule.bench probe --model qm9|DIR [--run RUN]
        [--t 0.02,0.05,0.1] [--num 1000] [--seed 0] [--trajectory]

With ``--trajectory`` (bond-mode models) each row instead runs the model's own sampler from
the molecules noised to t down to 0 (:func:`trajectory_probe`, SDEdit-style, the default grid's
step size): t = 0.02 is close to the one-call probe, t = 1 is plain sampling with the test
molecules' atom counts, and the t between show where along the trajectory sampling loses the
precision the one-call probe has.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.pipeline import seeded_noise
from polydit.core.process import AffineProcess
from polydit.core.tokens import Tokens
from polydit.molecule.bond_model import BondProcess, run_network
from polydit.molecule.codec import MoleculeCodec, centre, real_pairs
from polydit.molecule.data import MoleculeSet
from polydit.molecule.metrics import GENERATED_PREFIX, edm_metrics, generated_bond_metrics

PROBE_TIMES = (0.02, 0.05, 0.1)
PROBE_NUM = 1000
#: molecules per model call (bounds the attention's memory)
PROBE_ROWS = 250
REPORTED = (
    "atom_stability",
    "molecule_stability",
    "validity",
    "valid_and_connected",
    "num_molecules",
)
#: a bond-mode model's rows also report these (its generated bonds and their agreement)
BOND_REPORTED = (
    *(f"{GENERATED_PREFIX}{k}" for k in REPORTED[:4]),
    "bond_agreement",
    "bond_pair_agreement",
)


def probe_molecules(data: MoleculeSet, num: int, seed: int) -> MoleculeSet:
    """`num` molecules of `data` drawn without replacement (seed), in data order."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(data))[:num])
    return data.subset(pick)


def probe_noise(shape: tuple[int, ...], mask: Tensor, centred: bool, seed: int) -> Tensor:
    """Noise (B, N, C), sample i from seed + i; coordinates centred over each molecule's atoms
    when `centred` (the codec's convention); padding rows are zero."""
    noise = seeded_noise(shape, seed)
    return centre(noise, mask) if centred else noise * mask[..., None]


@torch.no_grad()
def clean_estimate(
    model: torch.nn.Module, process: AffineProcess, xt: Tensor, t: Tensor, mask: Tensor
) -> Tensor:
    """x̂0 (B, N, C) of noisy tokens xt (B, N, C) at t (B,): one model call per PROBE_ROWS."""
    parts = []
    for begin in range(0, xt.shape[0], PROBE_ROWS):
        rows = slice(begin, begin + PROBE_ROWS)
        out = model(Tokens(xt[rows], None, mask[rows]), t[rows])
        parts.append(process.to_x0_eps(xt[rows], t[rows], out.to(xt.dtype))[0])
    return torch.cat(parts)


def probe(
    model: torch.nn.Module,
    process: AffineProcess,
    codec: MoleculeCodec,
    data: MoleculeSet,
    times: Sequence[float] = PROBE_TIMES,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per t of `times`: EDM's metrics (atom / molecule stability, validity,
    valid-and-connected) of the molecules of `data` after noising them to t (the same noise
    for every t) and taking the model's clean estimate, decoded by the codec."""
    batch = data.batch(torch.arange(len(data)))
    tokens = codec.encode(batch)
    mask = tokens.mask
    noise = probe_noise(tuple(tokens.x.shape), mask, codec.centre_noise, seed)
    rows = []
    for t in times:
        tt = torch.full((len(data),), float(t))
        xt = process.corrupt(tokens.x, tt, noise)[0] * mask[..., None]
        atoms = codec.decode(clean_estimate(model, process, xt, tt, mask), tokens)
        atoms.coords = centre(atoms.coords, mask)
        metrics = edm_metrics(atoms.molecule(i) for i in range(len(atoms)))
        rows.append({"t": float(t), **{k: metrics[k] for k in REPORTED}})
    return rows


def noised_molecules(
    process: BondProcess, codec: MoleculeCodec, data: MoleculeSet, t: float, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The molecules of `data` (with bonds) noised to `t` as in training: coordinates x_t
    (B, N, 3) with centred noise from seed + i, atom types (B, N) and bonds (B, N, N) corrupted
    by their categorical processes (one generator seeded `seed`); the same noise for every t."""
    batch = data.batch(torch.arange(len(data)))
    tokens, bonds = codec.encode_bonds(batch)
    mask, x0 = tokens.mask, tokens.x[..., :3]
    noise = probe_noise(tuple(x0.shape), mask, True, seed)
    rng = torch.Generator().manual_seed(seed)
    tt = torch.full((len(data),), t)
    xt = process.coords.corrupt(x0, tt, noise)[0] * mask[..., None]
    types_t = torch.where(mask, process.types.corrupt(batch["types"].clamp_min(0), tt, rng), 0)
    return xt, types_t, process.corrupt_bonds(bonds, tt, mask, rng)


@torch.no_grad()
def bond_probe(
    model: torch.nn.Module,
    process: BondProcess,
    codec: MoleculeCodec,
    data: MoleculeSet,
    times: Sequence[float] = PROBE_TIMES,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """:func:`probe` for a bond-mode model on `data` with bonds: coordinates noised with centred
    noise, atom and bond types corrupted at the same t (one generator seeded `seed`), one call
    per PROBE_ROWS molecules; the clean estimate is x̂0 and the argmax types and bonds."""
    tokens = codec.encode_bonds(data.batch(torch.arange(len(data))))[0]
    mask = tokens.mask
    rows = []
    for t in times:
        tt = torch.full((len(data),), float(t))
        xt, types_t, bonds_t = noised_molecules(process, codec, data, float(t), seed)
        parts = []
        for begin in range(0, len(data), PROBE_ROWS):
            r = slice(begin, begin + PROBE_ROWS)
            parts.append(run_network(model, xt[r], types_t[r], bonds_t[r], mask[r], tt[r]))
        coords = torch.cat([p.coords for p in parts])
        type_hat = torch.cat([p.type_logits for p in parts]).argmax(-1)
        upper = torch.triu(torch.cat([p.bond_logits for p in parts]).argmax(-1), 1)
        bond_hat = torch.where(real_pairs(mask), upper + upper.transpose(1, 2), 0)
        onehot = torch.nn.functional.one_hot(type_hat, len(codec.atom_types)).float()
        atoms = codec.decode_bonds(torch.cat([coords, onehot], -1), bond_hat, tokens)
        molecules = [atoms.molecule(i) for i in range(len(atoms))]
        metrics = edm_metrics(molecules)
        orders = [atoms.bond_orders(i) for i in range(len(atoms))]
        metrics |= generated_bond_metrics(molecules, orders)
        rows.append({"t": float(t), **{k: metrics[k] for k in (*REPORTED, *BOND_REPORTED)}})
    return rows


@torch.no_grad()
def trajectory_probe(
    generator: Any,
    data: MoleculeSet,
    times: Sequence[float],
    seed: int = 0,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """One row per t of `times` for a bond-mode `generator`: the molecules of `data` noised to t
    as in :func:`bond_probe` (same noise), then ``generator.denoise_from`` them to 0 in
    round(t · steps) steps (`steps` the model's default, or an override), scored like
    :func:`bond_probe` plus the wall seconds."""
    mask = generator.codec.encode_bonds(data.batch(torch.arange(len(data))))[0].mask
    full = generator.sampling.override(**overrides).steps
    rows = []
    for t in times:
        noised = noised_molecules(generator.process, generator.codec, data, float(t), seed)
        xt, types_t, bonds_t = noised
        steps = max(1, round(float(t) * full))
        started = time.perf_counter()
        atoms = generator.denoise_from(
            xt, types_t, bonds_t, mask.sum(1), float(t), seed, **{**overrides, "steps": steps}
        )
        seconds = time.perf_counter() - started
        molecules = [atoms.molecule(i) for i in range(len(atoms))]
        metrics = edm_metrics(molecules)
        orders = [atoms.bond_orders(i) for i in range(len(atoms))]
        metrics |= generated_bond_metrics(molecules, orders)
        row = {
            "t": float(t),
            "steps": steps,
            **{k: metrics[k] for k in (*REPORTED, *BOND_REPORTED)},
        }
        rows.append({**row, "seconds": seconds})
    return rows
