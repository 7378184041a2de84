"""Crystal generator, training, CLI (--kind crystal) and the cache wiring (issue 8)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polydit.molecule.crystal.io import read_cif

runner = CliRunner()


def test_crystal_train_sample_writes_one_cif_per_structure(crystal_model: Path, tmp_path, run_cli):
    info = json.loads(run_cli("info", "--model", str(crystal_model), "--json").splitlines()[-1])
    assert info["kind"] == "crystal"
    out = tmp_path / "s"
    run_cli("sample", "--model", str(crystal_model), "--kind", "crystal", "--num", "5",
         "--seed", "3", "--out", str(out))  # fmt: skip
    records = json.loads((out / "samples.json").read_text())
    assert len(records) == 5 and [r["seed"] for r in records] == list(range(3, 8))
    for record in records:
        if record["file"] is not None:
            structures, bad = read_cif(out / record["file"])
            assert bad == [] and len(structures) == 1
            assert len(structures[0]) == record["num_atoms"]


def test_python_api_returns_pymatgen_structures(crystal_model: Path):
    from pymatgen.core import Structure

    from polydit.molecule import CrystalGenerator, load_pretrained

    generator = load_pretrained(str(crystal_model))
    assert isinstance(generator, CrystalGenerator)
    structures = generator.sample(3, seed=0)
    again = generator.sample(3, seed=0)
    assert all(s is None or isinstance(s, Structure) for s in structures)
    for a, b in zip(structures, again, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a == b


def test_init_from_warm_starts_a_crystal_run(crystal_model: Path, cif_dir: Path, tmp_path, run_cli):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"preset": "tiny", "train": {"batch_size": 8}}))
    run_cli("train", "--data", str(cif_dir), "--config", str(config), "--steps", "1",
         "--init-from", str(crystal_model), "--out", str(tmp_path / "warm"))  # fmt: skip
    run = json.loads((tmp_path / "warm" / "run.json").read_text())
    assert run["init_from"] == str(crystal_model) and run["recipe"] == "crystal"


@pytest.mark.parametrize("kind", ["molecule", "crystal"])
def test_cache_reaches_generate_fora_runs_and_interval_1_matches_none(
    kind: str, tiny_model_dir: Path, crystal_model: Path, tmp_path: Path, monkeypatch, run_cli
):
    from polydit.core.pipeline import Pipeline

    model = tiny_model_dir if kind == "molecule" else crystal_model
    seen: list[tuple[str, dict]] = []
    generate = Pipeline.generate

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("cache"), kwargs.get("cache_opts")))
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "generate", spy)
    base = ["eval", "--model", str(model), "--num", "3", "--json"]
    plain = json.loads(run_cli(*base, "--cache", "none").splitlines()[-1])
    every = json.loads(
        run_cli(*base, "--cache", "fora", "--cache-opts", "interval=1").splitlines()[-1]
    )
    fora = json.loads(run_cli(*base, "--cache", "fora").splitlines()[-1])
    assert [c for c, _ in seen] == [None, "fora", "fora"]  # --cache none passes no cache
    assert seen[1][1] == {"interval": "1"} or seen[1][1] == {"interval": 1}
    assert every["cache_block_fraction"] == 1.0
    for key in plain:
        if "seconds" not in key:
            assert plain[key] == every[key], key
    assert fora["num_structures" if kind == "crystal" else "num_molecules"] == 3
    files = {}
    for name, flags in {
        "none": ["--cache", "none"],
        "every": ["--cache", "fora", "--cache-opts", "interval=1"],
    }.items():
        out = tmp_path / name
        run_cli("sample", "--model", str(model), "--num", "3", *flags, "--out", str(out))
        files[name] = {
            p.name: p.read_text() for p in sorted(out.iterdir()) if p.suffix in (".sdf", ".cif")
        }
    assert seen[-1][0] == "fora" and files["none"] and files["none"] == files["every"]
