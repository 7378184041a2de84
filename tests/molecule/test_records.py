"""What `sample` writes per molecule: the connected / closed-shell flags, the heavy-atom SMILES,
and the split into molecules.sdf (every record readable by RDKit) and invalid.sdf."""

import json
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from polydit.molecule.io import (
    CANONICAL_SMILES_PROP,
    CLOSED_SHELL_PROP,
    CONNECTED_PROP,
    INVALID_SDF_NAME,
    RDKIT_ERROR_PROP,
    SDF_NAME,
    SMILES_PROP,
    VALID_PROP,
    to_rdkit,
    write_records,
)

METHYL = (["C", "H", "H", "H"], np.array([[0, 0, 0], [1.09, 0, 0], [-0.545, 0.944, 0],
                                         [-0.545, -0.944, 0]]))  # fmt: skip
PENTAVALENT_C = (["C"] + ["H"] * 5, np.vstack([[0, 0, 0], 1.09 * np.eye(3), -1.09 * np.eye(3)[:2]]))


def _apart(a, b, shift: float = 6.0):
    """Two molecules in one record, `shift` Å apart along x."""
    return a[0] + b[0], np.vstack([a[1], b[1] + [shift, 0, 0]])


def _closed_shell_valid(data, count: int) -> list[int]:
    picks = []
    for i in range(len(data)):
        mol = to_rdkit(*data.molecule(i))
        if mol.GetIntProp(VALID_PROP) and mol.GetIntProp(CLOSED_SHELL_PROP):
            picks.append(i)
        if len(picks) == count:
            return picks
    raise AssertionError("too few valid closed-shell molecules")


def test_qm9_molecules_are_connected_closed_shell_with_canonical_heavy_atom_smiles(qm9_sample):
    for i in _closed_shell_valid(qm9_sample, 20):
        mol = to_rdkit(*qm9_sample.molecule(i))
        canonical = mol.GetProp(CANONICAL_SMILES_PROP)
        assert mol.GetIntProp(CONNECTED_PROP) == 1
        assert canonical == Chem.MolToSmiles(Chem.MolFromSmiles(canonical))  # RDKit canonical
        # one fragment, no radical: EDM's largest-fragment SMILES without its hydrogens
        assert canonical == Chem.MolToSmiles(Chem.MolFromSmiles(mol.GetProp(SMILES_PROP)))


def test_radicals_fragments_and_invalid_molecules_are_flagged(qm9_sample):
    methyl = to_rdkit(*METHYL)
    assert methyl.GetIntProp(VALID_PROP) == 1  # EDM's check adds implicit H: CH4
    assert methyl.GetIntProp(CLOSED_SHELL_PROP) == 0 and methyl.GetIntProp(CONNECTED_PROP) == 1
    assert methyl.GetProp(CANONICAL_SMILES_PROP) == "[CH3]"

    (i,) = _closed_shell_valid(qm9_sample, 1)
    pair = to_rdkit(*_apart(qm9_sample.molecule(i), qm9_sample.molecule(i)))
    assert pair.GetIntProp(VALID_PROP) == 1 and pair.GetIntProp(CLOSED_SHELL_PROP) == 1
    assert pair.GetIntProp(CONNECTED_PROP) == 0
    single = to_rdkit(*qm9_sample.molecule(i)).GetProp(CANONICAL_SMILES_PROP)
    assert pair.GetProp(CANONICAL_SMILES_PROP) == f"{single}.{single}"

    broken = to_rdkit(*_apart(PENTAVALENT_C, (["N", "H"], np.array([[0, 0, 0], [1.01, 0, 0]]))))
    assert broken.GetIntProp(VALID_PROP) == 0 and broken.GetProp(CANONICAL_SMILES_PROP) == ""
    assert broken.GetIntProp(CONNECTED_PROP) == 0
    assert broken.GetIntProp(CLOSED_SHELL_PROP) == 0  # the NH lacks two electrons' worth
    assert to_rdkit(*PENTAVALENT_C).GetIntProp(CLOSED_SHELL_PROP) == 1


def test_every_record_of_molecules_sdf_parses_and_invalid_ones_go_to_invalid_sdf(
    qm9_sample, tmp_path: Path
):
    molecules = [qm9_sample.molecule(i) for i in range(40)] + [PENTAVALENT_C, METHYL]
    mols = [to_rdkit(*m) for m in molecules]
    records = write_records(tmp_path, mols, 5, {"gap": 6.5})
    main = list(Chem.SDMolSupplier(str(tmp_path / SDF_NAME)))  # RDKit's defaults: sanitise
    assert main and all(m is not None for m in main)
    unsanitised = list(Chem.SDMolSupplier(str(tmp_path / INVALID_SDF_NAME), sanitize=False,
                                          removeHs=False))  # fmt: skip
    assert len(main) + len(unsanitised) == len(mols) == len(records)
    assert all(Chem.MolFromMolBlock(Chem.MolToMolBlock(m)) is None for m in unsanitised)
    assert records[-2]["file"] == INVALID_SDF_NAME and records[-1]["file"] == SDF_NAME
    assert "valence" in records[-2]["rdkit_error"] and records[-1]["rdkit_error"] is None
    files = {SDF_NAME: main, INVALID_SDF_NAME: unsanitised}
    for i, (record, mol) in enumerate(zip(records, mols, strict=True)):
        back = files[record["file"]][record["record"]]
        assert back.GetProp("_Name") == f"mol_{i}" and record["seed"] == 5 + i
        assert record["num_atoms"] == mol.GetNumAtoms() == len(molecules[i][0])
        assert record["conditioning"] == {"gap": 6.5}
        for key, prop in (("valid", VALID_PROP), ("connected", CONNECTED_PROP),
                          ("closed_shell", CLOSED_SHELL_PROP)):  # fmt: skip
            assert back.GetProp(prop) == str(int(record[key]))
        assert back.GetProp(CANONICAL_SMILES_PROP) == record["canonical_smiles"]
        if record["file"] == INVALID_SDF_NAME:
            assert back.GetProp(RDKIT_ERROR_PROP) == record["rdkit_error"]
            assert not record["valid"]
        else:
            assert record["valid"] and not back.HasProp(RDKIT_ERROR_PROP)
    assert sum(r["file"] == SDF_NAME for r in records) >= 38  # ~97.7% of QM9 is valid
    assert json.loads(json.dumps(records)) == records
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("model", ["tiny_model_dir", "qm9"])
def test_sample_cli_writes_readable_molecules_sdf(model: str, request, tmp_path, run_cli):
    directory = request.getfixturevalue(model) if model != "qm9" else "qm9"
    out = tmp_path / "s"
    run_cli("sample", "--model", str(directory), "--num", "12", "--seed", "0", "--out", str(out),
            "--steps", "20")  # fmt: skip
    records = json.loads((out / "samples.json").read_text())
    files = {r["file"] for r in records}
    assert files <= {SDF_NAME, INVALID_SDF_NAME} and set(p.name for p in out.glob("*.sdf")) == files
    main = list(Chem.SDMolSupplier(str(out / SDF_NAME))) if SDF_NAME in files else []
    assert all(m is not None for m in main)
    invalid = (
        list(Chem.SDMolSupplier(str(out / INVALID_SDF_NAME), sanitize=False, removeHs=False))
        if INVALID_SDF_NAME in files
        else []
    )
    assert all(m is not None and m.HasProp(RDKIT_ERROR_PROP) for m in invalid)
    assert len(main) + len(invalid) == 12 == len(records)
    assert [r["record"] for r in records if r["file"] == SDF_NAME] == list(range(len(main)))
    for record in records:
        assert {"connected", "closed_shell", "canonical_smiles", "rdkit_error"} <= set(record)
