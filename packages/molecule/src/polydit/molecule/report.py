"""`eval --report DIR`: DIR/molecule_report.png, generated molecules against data in two
histograms — atoms per molecule, and the lengths of the EDM-bonded pairs (bond order ≥ 1, Å).

Matplotlib's object API draws it (Agg canvas, no pyplot, no global backend); the PNG is
written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from polydit.core.atomic import atomic_write
from polydit.molecule.bonds import bond_orders

REPORT_NAME = "molecule_report.png"
#: bond-length bins (Å): EDM bonds end at the longest single bond + 10 pm (C–C 1.64 Å)
LENGTH_BINS = np.linspace(0.6, 1.8, 121)

Molecule = tuple[Sequence[str], np.ndarray]


def bonded_distances(molecules: Sequence[Molecule]) -> np.ndarray:
    """(K,) interatomic distances (Å) of every atom pair with an EDM bond, over `molecules`
    ((symbols, coords (n, 3) Å) pairs)."""
    out = [np.zeros(0)]
    for symbols, coords in molecules:
        xyz = np.asarray(coords, dtype=np.float64)
        i, j = np.nonzero(np.triu(bond_orders(symbols, xyz)))
        out.append(np.linalg.norm(xyz[i] - xyz[j], axis=-1))
    return np.concatenate(out)


def write_report(
    path: str | Path,
    generated: Sequence[Molecule],
    data_sizes: Sequence[int],
    data: Sequence[Molecule] | None,
    title: str = "",
) -> Path:
    """Draw the report PNG at `path`: the atom counts of `generated` against `data_sizes`
    (counts[n] = data molecules with n atoms, e.g. the codec's training histogram), and the
    bonded-pair lengths of `generated` against those of `data` (None: data not available)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sizes = np.asarray(data_sizes, dtype=np.float64)
    counts = np.array([len(s) for s, _ in generated], dtype=np.int64)
    n = max(len(sizes), int(counts.max(initial=0)) + 1)
    atoms = np.arange(n)
    figure = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    size_axis, length_axis = figure.subplots(1, 2)
    size_axis.bar(
        atoms,
        np.pad(sizes, (0, n - len(sizes))) / max(sizes.sum(), 1.0),
        width=0.9,
        color="0.75",
        label="data",
    )
    size_axis.step(
        atoms,
        np.bincount(counts, minlength=n) / max(len(counts), 1),
        where="mid",
        color="C0",
        label=f"generated ({len(counts)})",
    )
    size_axis.set_xlabel("atoms per molecule", fontsize=8)
    size_axis.set_ylabel("fraction of molecules", fontsize=8)
    generated_lengths = bonded_distances(generated)
    if data is not None:  # the data first, so the generated outline is drawn over it
        data_lengths = bonded_distances(data)
        length_axis.hist(
            data_lengths,
            bins=LENGTH_BINS,
            density=True,
            color="0.75",
            label=f"data ({len(data_lengths)} bonds)",
        )
    else:
        length_axis.text(
            0.02,
            0.95,
            "data bond lengths not available",
            fontsize=7,
            transform=length_axis.transAxes,
            va="top",
        )
    if len(generated_lengths):
        length_axis.hist(
            generated_lengths,
            bins=LENGTH_BINS,
            density=True,
            histtype="step",
            color="C0",
            label=f"generated ({len(generated_lengths)} bonds)",
        )
    length_axis.set_xlabel("bonded-pair distance (Å, EDM bonds)", fontsize=8)
    length_axis.set_ylabel("density", fontsize=8)
    for axis in (size_axis, length_axis):
        axis.legend(fontsize=7)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=9)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))
