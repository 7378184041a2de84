"""QM9 from qm9pack: EDM split sizes, hydrogen-free variant, batches."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from polydit.molecule.data import QM9_SIZE, load_qm9, qm9_split_indices


def test_edm_split_sizes_are_disjoint_and_cover_qm9():
    parts = {s: qm9_split_indices(s) for s in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [100_000, 17_748, 13_083]
    union = np.concatenate(list(parts.values()))
    assert len(np.unique(union)) == QM9_SIZE
    assert np.array_equal(qm9_split_indices("test", seed=0), parts["test"])
    assert not np.array_equal(qm9_split_indices("test", seed=1), parts["test"])


def test_qm9_molecules_are_centred_and_padded(qm9_test):
    assert qm9_test.max_atoms == 29 and qm9_test.atom_types == ("H", "C", "N", "O", "F")
    mask = qm9_test.types >= 0
    assert np.array_equal(mask.sum(1), qm9_test.num_atoms)
    centre = qm9_test.coords.sum(1) / qm9_test.num_atoms[:, None]
    assert np.abs(centre).max() < 1e-4
    assert (qm9_test.coords[~mask] == 0).all()
    assert sum(qm9_test.size_histogram()) == len(qm9_test)


def test_heavy_atom_variant_has_no_hydrogens(qm9_test):
    noh = load_qm9("test", hydrogens=False)
    assert len(noh) == len(qm9_test) and noh.max_atoms == 9
    assert not (noh.types == 0).any()
    heavy = (qm9_test.types > 0).sum(1)
    assert np.array_equal(noh.num_atoms, heavy)


def test_batch_trims_to_largest_molecule(qm9_test):
    idx = torch.tensor([0, 1, 2])
    batch = qm9_test.batch(idx)
    n = int(qm9_test.num_atoms[:3].max())
    assert batch["types"].shape == (3, n) and batch["coords"].shape == (3, n, 3)
    assert torch.equal(batch["mask"].sum(1), torch.from_numpy(qm9_test.num_atoms[:3]))


def _run(args: list[str], cache) -> subprocess.CompletedProcess[str]:
    """`args` in a subprocess with its polydit cache in `cache`."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "POLYDIT_CACHE": str(cache)}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)


def test_qm9packs_pkg_resources_warning_is_filtered_where_we_import_it(tmp_path):
    # the control: qm9pack itself still warns (else this test could not fail)
    raw = _run([sys.executable, "-W", "default", "-c", "import qm9pack"], tmp_path)
    if "pkg_resources" not in raw.stderr:
        pytest.skip("this qm9pack/setuptools no longer warns about pkg_resources")
    ours = _run(
        [sys.executable, "-W", "default", "-c",
         "from polydit.molecule.data import qm9_csv_files; print(len(qm9_csv_files()))"],
        tmp_path,
    )  # fmt: skip
    assert ours.returncode == 0 and ours.stdout.strip() == "3", ours.stderr
    assert "pkg_resources" not in ours.stderr + ours.stdout


@pytest.mark.slow
def test_data_show_on_a_fresh_cache_prints_no_pkg_resources_warning(tmp_path):
    """The one command that imports qm9pack: `data show` (or any QM9 load) with no cache yet
    parses qm9pack's CSV files (≈ 20 s of CPU)."""
    command = shutil.which("polydit-molecule")
    assert command is not None
    done = _run([command, "data", "show", "--data", "qm9", "--num", "2"], tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert "100000 molecules" in done.stdout
    assert "pkg_resources" not in done.stderr + done.stdout


def test_non_finite_coordinates_are_an_error_naming_the_record(tmp_path):
    from polydit.core.errors import DataError
    from polydit.molecule.data import read_molecules

    path = tmp_path / "m.xyz"
    path.write_text("1\nok\nH 0 0 0\n1\nbad\nH nan 0 0\n")
    with pytest.raises(DataError, match=r"m\.xyz: record 1: coordinates are not finite"):
        read_molecules(path)
    good, bad = read_molecules(path, skip_bad=True)
    assert len(good) == 1 and "record 1" in bad[0]
