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
    records = json.loads((out / "samples.json").read_text())
    files = {name: read_sdf(out / name) for name in {r["file"] for r in records}}
    assert sum(len(mols) for mols, _ in files.values()) == 6 == len(records)
    assert all(skipped == [] for _, skipped in files.values())
    assert [r["seed"] for r in records] == list(range(2, 8))
    for record in records:
        mol = files[record["file"]][0][record["record"]]
        assert mol.GetProp("polydit_valid") == str(int(record["valid"]))
        assert mol.GetNumAtoms() == record["num_atoms"]


@pytest.mark.parametrize(
    ("model", "rates", "count"),
    [
        (
            "tiny_model_dir",
            ("atom_stability", "molecule_stability", "valid_and_connected"),
            "num_molecules",
        ),
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
    singles = [f"molecule_{i}.sdf" for i in range(4)]  # one molecule each: the 3D viewer
    assert [i.file.name for i in items] == ["molecules.png", *singles, "molecules.sdf"]
    image = Image.open(tmp_path / "molecules.png")
    assert image.size[0] >= 4 * 200 and image.size[1] >= 2 * 200
    mols, _ = read_sdf(tmp_path / "molecules.sdf")
    assert len(mols) == 8
    assert all(len(read_sdf(tmp_path / name)[0]) == 1 for name in singles)
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


def test_a_joint_model_without_kind_is_a_usage_error_naming_the_choices(tmp_path):
    for verb in ("sample", "eval"):
        args = [verb, "--model", "joint", "--num", "1"]
        result = runner.invoke(
            app, args + (["--out", str(tmp_path / "x")] if verb == "sample" else [])
        )
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert "'--kind'" in lines[0] and "--kind molecule or --kind crystal" in lines[0]
    assert not (tmp_path / "x").exists()


def test_eval_report_draws_a_png_of_atom_counts_and_bond_lengths(tiny_model_dir, tmp_path, run_cli):
    from PIL import Image

    report = tmp_path / "report"
    out = run_cli("eval", "--model", str(tiny_model_dir), "--num", "6", "--json",
                  "--report", str(report))  # fmt: skip
    metrics = json.loads(out.strip().splitlines()[-1])
    png = report / "molecule_report.png"
    with Image.open(png) as image:
        image.verify()  # a complete, valid PNG
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] >= 800 and image.size[1] >= 300
    assert json.loads((report / "metrics.json").read_text())["num_molecules"] == 6
    assert metrics["num_molecules"] == 6
    assert not list(report.glob(".tmp-*")) and not list(tmp_path.glob(".tmp-*"))


def test_eval_report_on_a_crystal_model_is_a_clear_error(crystal_model: Path, tmp_path):
    args = ["eval", "--model", str(crystal_model), "--num", "2", "--report", str(tmp_path / "r")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "--report" in result.output and "crystals" in result.output
    assert not (tmp_path / "r").exists()  # the staged report directory is discarded
