"""EDM's bond perception (Hoogeboom et al. 2022, `qm9/bond_analyze.py`): bond orders from
interatomic distances.

With d in pm and the typical single/double/triple bond lengths b1/b2/b3 of the pair (tables
below, the covalent bond lengths EDM tabulates for H, C, N, O, F), the order is 0 if d ≥ b1 + 10;
else 1 unless the pair has a double bond length and d < b2 + 5, then 2 unless it has a triple
bond length and d < b3 + 3, then 3.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Typical bond lengths in pm (pairs not listed have no such bond).
SINGLE = {
    ("H", "H"): 74, ("H", "C"): 109, ("H", "N"): 101, ("H", "O"): 96, ("H", "F"): 92,
    ("C", "C"): 154, ("C", "N"): 147, ("C", "O"): 143, ("C", "F"): 135,
    ("N", "N"): 145, ("N", "O"): 140, ("N", "F"): 136,
    ("O", "O"): 148, ("O", "F"): 142,
    ("F", "F"): 142,
}  # fmt: skip
DOUBLE = {("C", "C"): 134, ("C", "N"): 129, ("C", "O"): 120, ("N", "N"): 125, ("N", "O"): 121,
          ("O", "O"): 121}  # fmt: skip
TRIPLE = {("C", "C"): 120, ("C", "N"): 116, ("C", "O"): 113, ("N", "N"): 110}
MARGINS = (10, 5, 3)  # pm, added to single / double / triple lengths
ALLOWED_VALENCE = {"H": 1, "C": 4, "N": 3, "O": 2, "F": 1}


def _table(lengths: dict[tuple[str, str], int], elements: Sequence[str]) -> np.ndarray:
    """Symmetric (K, K) array of lengths in pm; −inf where the pair has no such bond."""
    k = len(elements)
    out = np.full((k, k), -np.inf)
    for (a, b), v in lengths.items():
        if a in elements and b in elements:
            i, j = elements.index(a), elements.index(b)
            out[i, j] = out[j, i] = v
    return out


def bond_orders(symbols: Sequence[str], coords: np.ndarray) -> np.ndarray:
    """(n, n) int EDM bond orders (0–3) of atoms `symbols` at `coords` (n, 3) in Å."""
    elements = sorted(set(symbols))
    unknown = [e for e in elements if e not in ALLOWED_VALENCE]
    if unknown:
        raise ValueError(f"EDM bond tables cover H, C, N, O, F only; got {', '.join(unknown)}")
    idx = np.array([elements.index(s) for s in symbols], dtype=np.int64)
    xyz = np.asarray(coords, dtype=np.float64)
    d = 100.0 * np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    pair = (idx[:, None], idx[None, :])
    b1, b2, b3 = (_table(t, elements)[pair] for t in (SINGLE, DOUBLE, TRIPLE))
    m1, m2, m3 = MARGINS
    single = d < b1 + m1
    order = single * (1 + (d < b2 + m2) * (1 + (d < b3 + m3)))
    np.fill_diagonal(order, 0)
    return order.astype(np.int64)
