"""polydit-molecule end to end on a tiny untrained model."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polydit.molecule.cli import app
from polydit.molecule.io import read_sdf

runner = CliRunner()


def test_sample_writes_one_sdf_record_per_molecule_and_manifest(
    tiny_model_dir: Path, tmp_path, run_cli
):
    out = tmp_path / "s"
    run_cli(
        "sample", "--model", str(tiny_model_dir), "--num", "6", "--seed", "2", "--out", str(out)
    )
    mols, skipped = read_sdf(out / "molecules.sdf")
    records = json.loads((out / "samples.json").read_text())
    assert len(mols) == 6 and skipped == [] and len(records) == 6
    assert [r["seed"] for r in records] == list(range(2, 8))
    for mol, record in zip(mols, records, strict=True):
        assert mol.GetProp("polydit_valid") == str(int(record["valid"]))
        assert mol.GetNumAtoms() == record["num_atoms"]


@pytest.mark.parametrize(
    ("model", "rates", "count"),
    [
        ("tiny_model_dir", ("atom_stability", "molecule_stability"), "num_molecules"),
        ("crystal_model", ("structural_validity", "compositional_validity"), "num_structures"),
    ],
)
def test_eval_json_prints_every_metric(model: str, rates, count: str, request, run_cli):
    directory = request.getfixturevalue(model)
    out = run_cli("eval", "--model", str(directory), "--num", "4", "--json")
    metrics = json.loads(out.strip().splitlines()[-1])
    for key in (*rates, "validity", "uniqueness"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics[count] == 4


def test_data_show_and_train_on_a_user_sdf_with_skip_bad(qm9_sample, tmp_path: Path, run_cli):
    from polydit.molecule.io import to_rdkit, write_sdf

    path = write_sdf(tmp_path / "mine.sdf", [to_rdkit(*qm9_sample.molecule(i)) for i in range(8)])
    text = path.read_text().split("$$$$\n")
    text[2] = "broken\n\n\nM  END\n"
    path.write_text("$$$$\n".join(text))
    result = runner.invoke(app, ["data", "show", "--data", str(path)])
    assert result.exit_code != 0 and "record 2" in result.output
    out = run_cli("data", "show", "--data", str(path), "--skip-bad")
    assert "7 molecules" in out and "skipped 1" in out
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"preset": "tiny", "train": {"batch_size": 4, "log_every": 1}}))
    run = tmp_path / "run"
    run_cli("train", "--data", str(path), "--skip-bad", "--config", str(config), "--steps", "2",
         "--out", str(run))  # fmt: skip
    assert (run / "model" / "model.safetensors").is_file()
    info = run_cli("info", "--model", str(run / "model"), "--json")
    assert json.loads(info.strip().splitlines()[-1])["codec"]["data"] == "mine"


def test_demo_writes_depictions_and_sdf(tiny_model_dir: Path, tmp_path: Path):
    from PIL import Image

    from polydit.molecule.cli import DOMAIN

    generator = DOMAIN.load(tiny_model_dir, device="cpu", dtype="fp32")
    items = DOMAIN.demo(generator, tmp_path, seed=0)
    assert [i.file.name for i in items] == ["molecules.png", "molecules.sdf"]
    image = Image.open(tmp_path / "molecules.png")
    assert image.size[0] >= 4 * 200 and image.size[1] >= 2 * 200
    mols, _ = read_sdf(tmp_path / "molecules.sdf")
    assert len(mols) == 8
    assert all("polydit-molecule sample" in i.command for i in items)


@pytest.mark.parametrize(
    ("flag", "needle"), [(["--gap", "6.5"], "--gap"), (["--kind", "crystal"], "--kind crystal")]
)
def test_a_flag_the_molecule_model_cannot_honour_is_a_clear_error(
    tiny_model_dir: Path, tmp_path, flag: list[str], needle: str
):
    args = ["sample", "--model", str(tiny_model_dir), *flag, "--num", "1", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and needle in result.output
