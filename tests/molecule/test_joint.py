"""The joint molecule + crystal model: codec, labels, data mix, training, CLI and Python API."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond, Tokens
from polydit.molecule.cli import app
from polydit.molecule.codec import MoleculeCodec
from polydit.molecule.crystal.builtin import procedural_crystals
from polydit.molecule.crystal.data import crystal_set
from polydit.molecule.crystal.io import write_cifs
from polydit.molecule.joint.codec import JointCodec, kind_label
from polydit.molecule.joint.data import JointSet, joint_data_parts
from polydit.molecule.model import PRESETS

runner = CliRunner()


@pytest.fixture(scope="module")
def structures() -> list:
    return [r.structure for r in procedural_crystals(0, 1, prototypes=("rocksalt", "fluorite"))]


@pytest.fixture(scope="module")
def codec(structures) -> JointCodec:
    return JointCodec(MoleculeCodec(), crystal_set("c", structures, ["x"] * len(structures)).codec)


@pytest.fixture(scope="module")
def joint_model(qm9_sample, structures, tmp_path_factory, run_cli) -> Path:
    """A tiny joint model trained 3 steps through the CLI on an SDF + a CIF directory."""
    from polydit.molecule.io import to_rdkit, write_sdf

    root = tmp_path_factory.mktemp("joint")
    sdf = write_sdf(root / "mols.sdf", [to_rdkit(*qm9_sample.molecule(i)) for i in range(16)])
    write_cifs(root / "cifs", structures[:16])
    config = root / "j.json"
    config.write_text(
        json.dumps(
            {
                "preset": "tiny",
                "crystal_fraction": 0.5,
                "molecule_sampling": {"steps": 3, "sampler": "ddpm"},
                "crystal_sampling": {"steps": 3},
                "train": {"batch_size": 8, "log_every": 1, "checkpoint_every": 2},
            }
        )
    )
    run_cli("train", "--data", f"{sdf}+{root / 'cifs'}", "--config", str(config), "--steps", "3",
         "--out", str(root / "run"))  # fmt: skip
    return root / "run" / "model"


def test_codec_round_trip_is_exact_for_both_kinds(codec: JointCodec, qm9_sample, structures):
    types = torch.from_numpy(qm9_sample.types[:6]).long()
    coords = torch.from_numpy(qm9_sample.coords[:6])
    tokens = codec.encode({"molecule": {"types": types, "coords": coords, "mask": types >= 0}})
    assert tokens.x.shape == (6, 1 + types.shape[1], codec.channels)
    assert not tokens.mask[:, 0].any()  # a molecule has no lattice token
    atoms = codec.decode(tokens.x, tokens, "molecule")
    assert torch.equal(atoms.types, types) and torch.equal(atoms.coords, coords)

    batch = codec.crystal.batch(structures[:5])
    crystal = codec.encode({"crystal": batch})
    assert crystal.mask[:, 0].all() and torch.equal(crystal.pos[:, 0], torch.zeros(5, 1))
    direct = codec.crystal.encode(batch)
    assert torch.equal(codec.from_joint("crystal", crystal.x, crystal.mask).x, direct.x)
    for s, d in zip(structures[:5], codec.decode(crystal.x, crystal, "crystal"), strict=True):
        assert [str(x) for x in s.species] == [str(x) for x in d.species]
        assert np.allclose(s.frac_coords % 1.0, d.frac_coords, atol=1e-6)
        assert np.allclose(s.lattice.abc, d.lattice.abc, rtol=1e-5)


def test_shared_elements_share_a_channel_and_decoding_uses_the_kinds_alphabet(codec):
    mol, cry = codec.channel_index("molecule"), codec.channel_index("crystal")
    assert len(set(codec.elements)) == len(codec.elements)
    assert set(codec.molecule.atom_types) <= set(codec.elements)
    shared = set(codec.molecule.atom_types) & set(codec.crystal.elements)
    for e in shared:
        assert (
            mol[3 + codec.molecule.atom_types.index(e)] == cry[3 + codec.crystal.elements.index(e)]
        )
    # a molecule token whose largest type channel is a crystal-only element still decodes to
    # a molecule element (the argmax runs over the molecule alphabet)
    x = torch.zeros(1, 2, codec.channels)
    crystal_only = next(e for e in codec.crystal.elements if e not in codec.molecule.atom_types)
    x[0, 1, 3 + codec.elements.index(crystal_only)] = 1.0
    x[0, 1, 3 + codec.elements.index("C")] = 0.5
    atoms = codec.decode(x, Tokens(x, None, torch.tensor([[False, True]])), "molecule")
    assert codec.molecule.atom_types[int(atoms.types[0, 0])] == "C"


def test_kind_labels_and_errors():
    assert kind_label("molecule") == 0 and kind_label("crystal") == 1
    with pytest.raises(ConfigError, match="--kind"):
        kind_label("joint")
    assert joint_data_parts("qm9") is None and joint_data_parts("crystals") is None
    assert joint_data_parts("qm9+crystals") == ("qm9", "crystals")
    with pytest.raises(ConfigError, match="MOLECULES\\+CRYSTALS"):
        joint_data_parts("crystals+qm9")


def test_joint_set_mixes_kinds_at_the_asked_fraction(qm9_sample, structures):
    cset = crystal_set("c", structures, ["x"] * len(structures))
    data = JointSet(qm9_sample, cset, crystal_fraction=0.25)
    assert len(data) == 1000 + 333
    batch = data.batch(torch.arange(990, 1010))
    assert batch["molecule"]["types"].shape[0] == 10 and batch["crystal"]["types"].shape[0] == 10
    assert set(data.batch(torch.arange(5))) == {"molecule"}
    with pytest.raises(ConfigError, match="crystal_fraction"):
        JointSet(qm9_sample, cset, crystal_fraction=1.0)


def test_pair_bias_acts_on_molecule_rows_only(codec):
    from polydit.molecule.joint.model import JointDiT, channel_masks, joint_dit_config

    torch.manual_seed(0)
    model = JointDiT(joint_dit_config(codec, PRESETS["tiny"]), channel_masks(codec))
    for p in model.parameters():  # no zero-initialised head or bias MLP
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 4, codec.channels)
    tokens = Tokens(x, torch.ones(2, 4, 1), torch.ones(2, 4, dtype=torch.bool))
    t = torch.full((2,), 0.5)
    out = {}
    for label in (0, 1):
        cond = Cond(labels=torch.full((2,), label))
        biased = model(tokens, t, cond)
        plain = model(tokens, t, cond, bias=torch.zeros(2, model.config.heads, 4, 4))
        out[label] = (biased - plain).abs().max().item()
    assert out[1] < 1e-5 and out[0] > 1e-2
    with pytest.raises(ConfigError, match="labels"):
        model(tokens, t, None)


def test_a_row_reads_only_its_kinds_channels(codec):
    from polydit.molecule.joint.model import JointDiT, channel_masks, joint_dit_config

    torch.manual_seed(0)
    model = JointDiT(
        joint_dit_config(codec, PRESETS["tiny"]), channel_masks(codec), pair_bias=False
    )
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(1, 3, codec.channels)
    tokens = Tokens(x, torch.ones(1, 3, 1), torch.ones(1, 3, dtype=torch.bool))
    outside = ~codec.channel_mask("molecule")
    assert outside.sum() == codec.channels - 8
    changed = x.clone()
    changed[..., outside] += 1.0
    t = torch.full((1,), 0.5)
    for label, same in ((0, True), (1, False)):
        cond = Cond(labels=torch.tensor([label]))
        a, b = model(tokens, t, cond), model(tokens.with_x(changed), t, cond)
        assert torch.allclose(a, b) == same
    all_channels = codec.replace(kind_channels=False)
    everything = JointDiT(joint_dit_config(codec, PRESETS["tiny"]), channel_masks(all_channels))
    assert everything.channel_masks.all()


def test_joint_model_samples_each_kind_through_cli_and_python(joint_model: Path, tmp_path, run_cli):
    from rdkit import Chem

    from polydit.molecule import load_pretrained

    info = json.loads(run_cli("info", "--model", str(joint_model), "--json").splitlines()[-1])
    assert info["kind"] == "joint" and info["architecture"]["num_classes"] == 2
    assert set(info["sampling"]) == {"molecule", "crystal"}

    out = tmp_path / "m"
    run_cli("sample", "--model", str(joint_model), "--kind", "molecule", "--num", "3",
         "--out", str(out))  # fmt: skip
    records = json.loads((out / "samples.json").read_text())
    assert len(records) == 3 and all((out / r["file"]).is_file() for r in records)
    out = tmp_path / "c"
    run_cli("sample", "--model", str(joint_model), "--kind", "crystal", "--num", "3",
         "--out", str(out))  # fmt: skip
    records = json.loads((out / "samples.json").read_text())
    assert len(records) == 3 and all("structure_valid" in r for r in records)

    joint = load_pretrained(str(joint_model))
    mols = joint.sample(2, seed=1, kind="molecule")
    assert all(isinstance(m, Chem.Mol) for m in mols)
    counts = joint.for_kind("molecule").atom_counts(2, 1)
    assert [m.GetNumAtoms() for m in mols] == counts.tolist()
    crystals = joint.sample(2, seed=1, kind="crystal")
    counts = joint.for_kind("crystal").atom_counts(2, 1).tolist()
    for s, n in zip(crystals, counts, strict=True):
        assert s is None or (type(s).__name__ == "Structure" and len(s) == n)
    # sample i depends on seed + i only, for either kind
    again = joint.sample(1, seed=2, kind="molecule")[0]
    assert Chem.MolToMolBlock(again) == Chem.MolToMolBlock(mols[1])


def test_joint_model_cli_errors(joint_model: Path, tmp_path):
    for command in ("sample", "eval"):
        args = [command, "--model", str(joint_model), "--num", "2"]
        if command == "sample":
            args += ["--out", str(tmp_path / "x")]
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "pass --kind molecule or --kind crystal" in result.output
    result = runner.invoke(
        app,
        ["sample", "--model", str(joint_model), "--kind", "molecule", "--gap", "6",
         "--num", "2", "--out", str(tmp_path / "g")],
    )  # fmt: skip
    assert result.exit_code != 0 and "gap" in result.output


def test_init_from_warm_starts_a_joint_run(joint_model: Path, tmp_path, run_cli):
    """A joint run on the same data adopts a joint model's weights (core's codec-checked warm
    start); a joint model trained on other data has another codec and is refused."""
    from polydit.molecule import load_pretrained

    root = joint_model.parent.parent
    data = f"{root / 'mols.sdf'}+{root / 'cifs'}"
    run_cli("train", "--data", data, "--config", str(root / "j.json"), "--steps", "1",
         "--init-from", str(joint_model), "--out", str(tmp_path / "warm"))  # fmt: skip
    run = json.loads((tmp_path / "warm" / "run.json").read_text())
    assert run["recipe"] == "joint" and run["init_from"] == str(joint_model)
    assert (
        load_pretrained(str(tmp_path / "warm" / "model")).codec
        == load_pretrained(str(joint_model)).codec
    )
    (root / "cifs_other").mkdir()
    for cif in sorted((root / "cifs").iterdir())[:8]:
        (root / "cifs_other" / cif.name).write_bytes(cif.read_bytes())
    result = runner.invoke(
        app,
        ["train", "--data", f"{root / 'mols.sdf'}+{root / 'cifs_other'}", "--config",
         str(root / "j.json"), "--steps", "1", "--init-from", str(joint_model),
         "--out", str(tmp_path / "other")],
    )  # fmt: skip
    assert result.exit_code != 0 and "--init-from" in result.output


def test_joint_eval_reports_each_kinds_metrics(joint_model: Path, run_cli):
    out = run_cli("eval", "--model", str(joint_model), "--kind", "molecule", "--num", "4", "--json")
    metrics = json.loads(out.strip().splitlines()[-1])
    assert {"atom_stability", "validity"} <= set(metrics)
    out = run_cli("eval", "--model", str(joint_model), "--kind", "crystal", "--num", "4", "--json")
    metrics = json.loads(out.strip().splitlines()[-1])
    assert {"structural_validity", "compositional_validity"} <= set(metrics)


def test_config_json_round_trip(joint_model: Path):
    from polydit.molecule.joint.pipeline import JointGenerator
    from polydit.molecule.joint.train import JointTrainSpec

    loaded = JointGenerator.from_pretrained(joint_model)
    again = JointGenerator.from_configs(
        loaded.model, loaded.process, loaded.sampling, loaded.codec_config()
    )
    assert again.codec_config() == loaded.codec_config()
    assert json.loads(json.dumps(loaded.codec.to_dict())) == loaded.codec.to_dict()
    assert JointCodec.from_dict(json.loads(json.dumps(loaded.codec.to_dict()))) == loaded.codec
    spec = JointTrainSpec(crystal_fraction=0.4)
    from polydit.core.config import to_dict

    assert JointTrainSpec.from_dict(json.loads(json.dumps(to_dict(spec)))) == spec
    with pytest.raises(ConfigError, match="unknown field"):
        JointTrainSpec.from_dict({"crystal_share": 0.3})


def test_joint_export_stores_each_kinds_metrics(joint_model: Path, tmp_path):
    from polydit.bench.molecule.bench import export
    from polydit.molecule import load_pretrained

    metrics = export(joint_model.parent, tmp_path / "exp", 2, None, 0)
    assert metrics["train_step"] == 3
    assert metrics["molecule"]["sampler"] == "ddpm" and "validity" in metrics["molecule"]
    assert "structural_validity" in metrics["crystal"]
    stored = json.loads((tmp_path / "exp" / "metrics.json").read_text())
    assert stored["molecule"]["validity"] == metrics["molecule"]["validity"]
    assert load_pretrained(str(tmp_path / "exp")).kind == "joint"


def test_shipped_joint_model_samples_each_kind():
    from rdkit import Chem

    from polydit.molecule import PRETRAINED, load_pretrained

    if not (PRETRAINED / "joint" / "config.json").is_file():
        pytest.skip("no shipped joint model")
    joint = load_pretrained("joint")
    assert joint.kind == "joint" and joint.codec.kind_channels
    mols = joint.sample(2, seed=0, kind="molecule", steps=2)
    assert all(isinstance(m, Chem.Mol) for m in mols)
    structures = joint.sample(2, seed=0, kind="crystal", steps=2)
    assert len(structures) == 2
    stored = json.loads((PRETRAINED / "joint" / "metrics.json").read_text())
    assert {"molecule", "crystal"} <= set(stored)


def test_own_channel_loss_scores_only_a_rows_kind_channels(codec, qm9_sample, structures):
    from polydit.core.process import ProcessConfig, build_process
    from polydit.molecule.joint.model import JointDiT, channel_masks, joint_dit_config
    from polydit.molecule.joint.pipeline import JointGenerator
    from polydit.molecule.joint.train import JointTrainSpec, loss

    torch.manual_seed(0)
    model = JointDiT(
        joint_dit_config(codec, PRESETS["tiny"]), channel_masks(codec), pair_bias=False
    )
    outside = ~codec.channel_mask("molecule")

    class OffOutside(torch.nn.Module):  # the same network, wrong outside the molecule channels
        def forward(self, *args, **kwargs):
            out = model(*args, **kwargs).clone()
            out[..., outside] += 3.0
            return out

    data = JointSet(qm9_sample, crystal_set("c", structures, ["x"] * len(structures)), 0.25)
    batch = data.batch(torch.arange(6))  # molecules only
    process = build_process(ProcessConfig(prediction="velocity"))

    centred = codec.replace(molecule=codec.molecule.replace(centre_noise=True))
    pipeline = JointGenerator(model, process, codec=centred)

    def loss_of(network, own):
        fn = loss(JointTrainSpec(own_channel_loss=own), pipeline)
        return fn(network, batch, torch.Generator().manual_seed(1))

    torch.testing.assert_close(loss_of(OffOutside(), True), loss_of(model, True))
    assert loss_of(OffOutside(), False) > loss_of(model, False) + 1.0
    # averaged over 8 channels instead of all of them: the same errors weigh C/8 times more
    ratio = (loss_of(model, True) / loss_of(model, False)).item()
    assert ratio == pytest.approx(codec.channels / 8, rel=1e-4)
