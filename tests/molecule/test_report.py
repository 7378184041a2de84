"""The `eval --report` figure: bonded-pair distances and the PNG against QM9 data."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from polydit.molecule.evaluation import reference_molecules
from polydit.molecule.report import bonded_distances, write_report

WATER = (["O", "H", "H"], np.array([[0.0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))


def test_bonded_distances_are_the_lengths_of_edm_bonds_only():
    lengths = bonded_distances([WATER, (["H", "H"], np.array([[0.0, 0, 0], [3.0, 0, 0]]))])
    assert np.allclose(
        np.sort(lengths), np.sort([np.hypot(0.24, 0.93), 0.96])
    )  # no H–H bond in either
    assert bonded_distances([]).shape == (0,)


def test_report_png_against_qm9_data(qm9_sample, tmp_path: Path):
    data = reference_molecules("qm9")
    assert len(data) == 13_083 and reference_molecules("my-file") is None
    generated = [qm9_sample.molecule(i) for i in range(50)]
    sizes = np.bincount([len(s) for s, _ in data]).tolist()
    path = write_report(tmp_path / "r" / "molecule_report.png", generated, sizes, data, "t")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (900, 340)
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # something is drawn, not a blank canvas
    assert not list(path.parent.glob(".tmp-*"))
    bonds = bonded_distances(data[:500])
    assert bonds.min() > 0.9 and bonds.max() < 1.65  # EDM bonds end at b1 + 10 pm
    assert np.median(bonds) == pytest.approx(1.1, abs=0.05)  # most QM9 bonds are X–H
