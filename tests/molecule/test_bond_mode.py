"""The bond mode: QM9 bonds as data, the bond codec, the bond-mode generator and its CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from polydit.core.pipeline import SamplingConfig
from polydit.molecule.bond_data import bond_matrix, canonical_smiles, matching_bonds
from polydit.molecule.data import MoleculeSet
from polydit.molecule.io import CANONICAL_SMILES_PROP, VALID_PROP, read_sdf, to_rdkit, write_sdf


@pytest.fixture(scope="module")
def bonded(qm9_sample: MoleculeSet) -> MoleculeSet:
    """80 QM9 test molecules with the bond matrices RDKit determines (those that match)."""
    picks = qm9_sample.subset(np.arange(80))
    found = [matching_bonds(*picks.molecule(i), picks.smiles[i]) for i in range(len(picks))]
    keep = np.array([i for i, b in enumerate(found) if b is not None])
    data = picks.subset(keep)
    n = data.max_atoms
    data.bonds = np.zeros((len(data), n, n), dtype=np.int8)
    for row, i in enumerate(keep):
        k = found[i].shape[0]
        data.bonds[row, :k, :k] = found[i]
    return data


def test_determined_bonds_are_the_datasets_molecule_and_most_match(bonded):
    assert len(bonded) >= 70  # measured: 123,457 of 130,831 QM9 molecules keep their bonds
    for i in range(len(bonded)):
        symbols, _ = bonded.molecule(i)
        n = len(symbols)
        orders = bonded.bonds[i, :n, :n]
        assert (orders == orders.T).all() and set(np.unique(orders)) <= {0, 1, 2, 3}
        ours = Chem.RWMol()
        for s in symbols:
            ours.AddAtom(Chem.Atom(s))
        for a, b in zip(*np.nonzero(np.triu(orders)), strict=True):
            ours.AddBond(int(a), int(b), Chem.BondType.values[int(orders[a, b])])
        Chem.SanitizeMol(ours)
        assert canonical_smiles(ours) == canonical_smiles(Chem.MolFromSmiles(bonded.smiles[i]))


def test_a_charged_molecule_has_no_bond_matrix():
    # a zwitterion: RDKit assigns formal charges, which a bond matrix cannot express
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("[NH3+]CC([O-])=O"))
    AllChem.EmbedMolecule(mol, randomSeed=0)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    coords = mol.GetConformer().GetPositions()
    assert matching_bonds(symbols, coords, "[NH3+]CC([O-])=O") is None


def written_orders(mol) -> np.ndarray:
    """(n, n) bond orders of a Mol read back from SDF without sanitisation: 1–3 as written,
    1.5 for a bond written aromatic (our SDF keeps RDKit's aromatic flags)."""
    out = np.zeros((mol.GetNumAtoms(),) * 2)
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        out[i, j] = out[j, i] = bond.GetBondTypeAsDouble()
    return out


def same_bonds(written: np.ndarray, orders: np.ndarray) -> bool:
    """The bonds as written equal `orders`, an aromatic bond (1.5) standing for 1 or 2."""
    aromatic = written == 1.5
    return bool(
        ((written > 0) == (orders > 0)).all()
        and (written[~aromatic] == orders[~aromatic]).all()
        and np.isin(orders[aromatic], (1, 2)).all()
    )


def test_the_written_sdf_of_a_real_qm9_molecule_rereads_with_identical_bonds(bonded, tmp_path):
    aromatic = 0
    for i in range(len(bonded)):
        symbols, coords = bonded.molecule(i)
        orders = bonded.bonds[i, : len(symbols), : len(symbols)]
        write_sdf(tmp_path / "m.sdf", [to_rdkit(symbols, coords, orders)])
        (back,) = Chem.SDMolSupplier(str(tmp_path / "m.sdf"), removeHs=False)  # sanitised
        assert back is not None and back.GetIntProp(VALID_PROP) == 1
        reference = canonical_smiles(Chem.MolFromSmiles(bonded.smiles[i]))
        assert canonical_smiles(back) == reference == back.GetProp(CANONICAL_SMILES_PROP)
        (raw,) = Chem.SDMolSupplier(str(tmp_path / "m.sdf"), sanitize=False, removeHs=False)
        assert same_bonds(written_orders(raw), orders), (i, bonded.smiles[i])
        aromatic += bool((written_orders(raw) == 1.5).any())
        Chem.Kekulize(back, clearAromaticFlags=True)
        kekule = bond_matrix(back)  # a Kekulé form of the same molecule: the same valences
        assert np.array_equal(kekule.sum(1), orders.sum(1)) and same_bonds(kekule, orders)
    assert aromatic >= 1  # the aromatic case is among them


def test_batches_carry_bonds_and_the_codec_round_trips_to_the_same_rdkit_molecule(bonded):
    from polydit.molecule.data import fit_codec

    codec = fit_codec(bonded, centre_noise=True, bonds=True)
    batch = bonded.batch(torch.arange(6))
    n = batch["types"].shape[1]
    assert batch["bonds"].shape == (6, n, n) and batch["bonds"].dtype == torch.long
    tokens, bonds = codec.encode_bonds(batch)
    atoms = codec.decode_bonds(tokens.x, bonds, tokens)
    for i in range(6):
        symbols, coords = bonded.molecule(i)
        got_symbols, got_coords = atoms.molecule(i)
        assert got_symbols == symbols and np.array_equal(got_coords, coords)
        orders = bonded.bonds[i, : len(symbols), : len(symbols)]
        assert np.array_equal(atoms.bond_orders(i), orders)
        want, got = to_rdkit(symbols, coords, orders), to_rdkit(got_symbols, got_coords, orders)
        assert Chem.MolToSmiles(got) == Chem.MolToSmiles(want)
        assert same_bonds(written_orders(got), orders)


def test_generated_bond_metrics_score_the_datas_own_bonds(bonded):
    from polydit.molecule.metrics import generated_bond_metrics

    molecules = [bonded.molecule(i) for i in range(len(bonded))]
    orders = [bonded.bonds[i, : len(s), : len(s)] for i, (s, _) in enumerate(molecules)]
    scores = generated_bond_metrics(molecules, orders)
    # the data's own bonds: every atom has its valence, every molecule is whole
    assert scores["generated_bonds_atom_stability"] == 1.0
    assert scores["generated_bonds_valid_and_connected"] == 1.0
    assert scores["bond_pair_agreement"] > 0.98 and scores["bond_agreement"] > 0.9
    empty = [np.zeros_like(o) for o in orders]
    assert generated_bond_metrics(molecules, empty)["generated_bonds_atom_stability"] == 0.0


@pytest.fixture(scope="module")
def tiny_bond_model(bonded, tmp_path_factory) -> Path:
    """An untrained tiny bond-mode generator saved as a pretrained directory (4 steps)."""
    from polydit.molecule.train import MoleculeTrainSpec, build

    spec = MoleculeTrainSpec(preset="tiny", bonds=True, sampling=SamplingConfig(steps=4))
    generator = build(spec, bonded, seed=0)
    return generator.save_pretrained(tmp_path_factory.mktemp("bond") / "tiny")


def test_sample_8_equals_the_first_8_of_16_and_the_sdf_holds_the_generated_bonds(
    tiny_bond_model, tmp_path, run_cli
):
    from polydit.molecule import load_pretrained
    from polydit.molecule.bond_pipeline import BondGenerator

    generator = load_pretrained(tiny_bond_model)
    assert isinstance(generator, BondGenerator)
    a, b = generator.generate_atoms(8, seed=3), generator.generate_atoms(16, seed=3)
    for field in ("types", "coords", "bonds", "num_atoms"):
        assert torch.equal(getattr(a, field), getattr(b, field)[:8]), field
    assert not torch.equal(a.bonds, generator.generate_atoms(8, seed=4).bonds)
    run_cli("sample", "--model", str(tiny_bond_model), "--num", "8", "--seed", "3",
            "--out", str(tmp_path / "s8"))  # fmt: skip
    run_cli("sample", "--model", str(tiny_bond_model), "--num", "16", "--seed", "3",
            "--out", str(tmp_path / "s16"))  # fmt: skip
    r8 = json.loads((tmp_path / "s8" / "samples.json").read_text())
    r16 = json.loads((tmp_path / "s16" / "samples.json").read_text())
    assert [r["canonical_smiles"] for r in r8] == [r["canonical_smiles"] for r in r16[:8]]
    mols = {}
    for name in {r["file"] for r in r8}:
        mols[name] = read_sdf(tmp_path / "s8" / name)[0]
    for i, record in enumerate(r8):
        mol = mols[record["file"]][record["record"]]
        n = int(a.num_atoms[i])
        assert same_bonds(written_orders(mol), a.bonds[i, :n, :n].numpy())


def test_the_categorical_sampler_flags_reach_a_bond_model_and_others_refuse_them(
    tiny_bond_model, tmp_path, run_cli, monkeypatch
):
    """sample --sampler dfm --omega --grid hand those settings to the core categorical sampler
    (omitted: the model's defaults); an atoms-only model has no such setting and says so by
    flag name."""
    from polydit.core.errors import ConfigError
    from polydit.molecule import bond_pipeline, load_pretrained

    seen = []
    real = bond_pipeline.sample_categorical

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(bond_pipeline, "sample_categorical", spy)
    out = tmp_path / "polydec"
    run_cli("sample", "--model", str(tiny_bond_model), "--num", "2", "--grid", "polydec",
            "--sampler", "dfm", "--omega", "0.1", "--eta", "3", "--out", str(out))  # fmt: skip
    assert len(json.loads((out / "samples.json").read_text())) == 2
    assert {k: seen[-1][k] for k in ("sampler", "omega", "eta", "grid")} == {
        "sampler": "dfm", "omega": 0.1, "eta": 3.0, "grid": "polydec"
    }  # fmt: skip
    generator = load_pretrained(tiny_bond_model)
    generator.generate_atoms(1)
    assert seen[-1]["grid"] == "uniform" and seen[-1]["omega"] == 0.0  # the model's defaults
    with pytest.raises(ConfigError, match="grid"):
        generator.generate_atoms(2, grid="log")
    atoms_only = load_pretrained("qm9")
    with pytest.raises(ConfigError, match="--omega: not a sampling setting"):
        atoms_only.generate_atoms(1, omega=0.1)


def test_cli_trains_samples_and_evaluates_a_tiny_bond_model(tmp_path, run_cli):
    config = tmp_path / "bonds.json"
    config.write_text(
        json.dumps(
            {
                "preset": "tiny",
                "bonds": True,
                "edge_hidden": 16,
                "sampling": {"steps": 3},
                "train": {"batch_size": 8, "log_every": 1, "checkpoint_every": 2},
            }
        )
    )
    run = tmp_path / "run"
    run_cli("train", "--data", "qm9", "--config", str(config), "--steps", "3", "--out", str(run))
    model = run / "model"
    run_cli("sample", "--model", str(model), "--num", "2", "--out", str(tmp_path / "s"))
    assert len(json.loads((tmp_path / "s" / "samples.json").read_text())) == 2
    out = run_cli("eval", "--model", str(model), "--num", "2", "--json")
    metrics = json.loads(out.strip().splitlines()[-1])
    generated = ("generated_bonds_atom_stability", "generated_bonds_valid_and_connected")
    for key in ("atom_stability", "valid_and_connected", "novelty", "bond_agreement", *generated):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["num_molecules"] == 2 == metrics["generated_bonds_num_molecules"]


@pytest.mark.slow
def test_a_tiny_bond_model_beats_the_no_bond_model_of_equal_size_on_valid_and_connected(
    tmp_path,
):
    """Two tiny models, same data, size, steps and seed; the bond model's valid-and-connected
    (from its generated bonds) beats the no-bond model's (EDM's distance-based bonds). Passed
    2026-12-03 in 31 min on one loaded core of the AMD EPYC (AVX-512 + AVX512-BF16)."""
    from polydit.core.train import RunOptions, TrainConfig, TrainData, fit
    from polydit.molecule.data import load_qm9
    from polydit.molecule.train import RECIPE, MoleculeTrainSpec

    data = load_qm9("train", bonds=True).subset(np.arange(20_000))
    train = TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.99,
                        schedule="constant", checkpoint_every=3000, log_every=100)  # fmt: skip
    scores = {}
    for bonds in (False, True):
        spec = MoleculeTrainSpec(
            preset="tiny", bonds=bonds, pair_bias=not bonds,
            sampling=SamplingConfig(steps=50), train=train,
        )  # fmt: skip
        options = RunOptions(out=tmp_path / f"run_{bonds}", progress=False)
        generator = fit(RECIPE, spec, TrainData(data, data.name), options).pipeline
        from polydit.molecule.evaluation import evaluate_generator

        scores[bonds] = evaluate_generator(generator, 200, seed=0, novelty=False)
    with_bonds = scores[True]["generated_bonds_valid_and_connected"]
    assert with_bonds > scores[False]["valid_and_connected"], scores


def test_the_denoising_probe_scores_a_bond_models_atoms_and_bonds(tiny_bond_model, bonded):
    from polydit.bench.molecule.probe import BOND_REPORTED, REPORTED, bond_probe
    from polydit.molecule import load_pretrained

    generator = load_pretrained(tiny_bond_model)
    args = (generator.model, generator.process, generator.codec, bonded, (0.05, 0.5))
    rows = bond_probe(*args, seed=0)
    assert rows == bond_probe(*args, seed=0)  # seeded
    assert [r["t"] for r in rows] == [0.05, 0.5]
    for row in rows:
        assert row["num_molecules"] == len(bonded)
        for key in (*REPORTED[:4], *BOND_REPORTED):
            assert 0.0 <= row[key] <= 1.0, key


def test_the_bond_mode_refuses_what_it_does_not_implement(qm9_sample):
    from polydit.core.errors import ConfigError
    from polydit.molecule.train import MoleculeTrainSpec, build, molecule_data

    for option in ({"pair_bias": True}, {"condition_gap": True}):
        with pytest.raises(ConfigError, match=next(iter(option))):
            MoleculeTrainSpec(bonds=True, **option)
    spec = MoleculeTrainSpec(preset="tiny", bonds=True)
    with pytest.raises(ConfigError, match="trains on qm9"):
        molecule_data(spec, "mine.sdf", {})
    with pytest.raises(ConfigError, match="no bond matrices"):
        build(spec, qm9_sample.subset(np.arange(10)), seed=0)


def test_the_coordinate_head_predicts_a_velocity_whose_clean_estimate_is_the_input_at_t_0():
    from polydit.core.edge_dit import EdgeDiT
    from polydit.molecule.bond_model import network_config, run_network

    torch.manual_seed(0)
    model = EdgeDiT(network_config(5, {"hidden": 32, "depth": 1, "heads": 2}, 16)).eval()
    for p in model.parameters():  # a random network, not the zero-initialised one
        torch.nn.init.normal_(p, std=0.1)
    mask = torch.tensor([[True] * 6 + [False] * 2])
    coords = torch.randn(1, 8, 3) * mask[..., None]
    types, bonds = torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, 8, dtype=torch.long)
    with torch.no_grad():
        at_0 = run_network(model, coords, types, bonds, mask, torch.zeros(1))
        at_half = run_network(model, coords, types, bonds, mask, torch.full((1,), 0.5))
    assert at_0.velocity.abs().sum() > 0
    assert torch.equal(at_0.coords, coords)  # x̂0 = x_t − t·v̂: exact at t = 0
    assert torch.allclose(at_half.coords, coords - 0.5 * at_half.velocity)
    real = mask[0]
    assert torch.allclose(at_half.velocity[0, real].sum(0), torch.zeros(3), atol=1e-5)  # CoM kept


def test_the_trajectory_probe_with_an_oracle_network_returns_the_data_from_any_t(
    tiny_bond_model, bonded, monkeypatch
):
    """denoise_from + the trajectory probe: with a network that always predicts the clean
    molecule (coordinates, atom types, bonds), sampling from the data noised to any t — up to
    pure noise at t = 1 — ends on the data itself: its own EDM metrics and bonds."""
    from polydit.bench.molecule.probe import trajectory_probe
    from polydit.molecule import bond_pipeline, load_pretrained
    from polydit.molecule.bond_model import BondOutput
    from polydit.molecule.metrics import edm_metrics

    generator = load_pretrained(tiny_bond_model)
    data = bonded.subset(np.arange(12))  # one chunk of sample_rows = 16 (rows 12–15 repeat 11)
    rows = torch.arange(generator.sample_rows).clamp(max=len(data) - 1)
    tokens, bonds = generator.codec.encode_bonds(data.batch(torch.arange(len(data))))
    n = generator.codec.max_atoms
    pad = n - tokens.x.shape[1]
    x0 = torch.nn.functional.pad(tokens.x[..., :3], (0, 0, 0, pad))[rows]
    types = torch.nn.functional.pad(
        data.batch(torch.arange(len(data)))["types"].clamp_min(0), (0, pad)
    )[rows]
    bonds = torch.nn.functional.pad(bonds, (0, pad, 0, pad))[rows]

    def oracle(model, coords, a, b, mask, t, previous=None):
        k = model.config.out_dim
        velocity = (coords - x0) / t.view(-1, 1, 1)
        type_logits = 30.0 * torch.nn.functional.one_hot(types, k).float()
        bond_logits = 30.0 * torch.nn.functional.one_hot(bonds, 4).float()
        return BondOutput(x0 * mask[..., None], velocity, type_logits, bond_logits)

    monkeypatch.setattr(bond_pipeline, "run_network", oracle)
    truth = edm_metrics(data.molecule(i) for i in range(len(data)))
    for row in trajectory_probe(generator, data, (0.05, 0.5, 1.0), seed=0):
        assert row["atom_stability"] == pytest.approx(truth["atom_stability"]), row
        assert row["molecule_stability"] == pytest.approx(truth["molecule_stability"]), row
        assert row["generated_bonds_atom_stability"] == 1.0 and row["bond_pair_agreement"] > 0.98
        assert row["steps"] == max(1, round(row["t"] * generator.sampling.steps))

    # a network that copies its input keeps whatever the sampler starts from: the data's own
    # atoms from t = 0.02 (5 steps), pure noise from t = 1
    def copy(model, coords, a, b, mask, t, previous=None):
        k = model.config.out_dim
        logits = 30.0 * torch.nn.functional.one_hot(a, k).float()
        zero = torch.zeros_like(coords)
        return BondOutput(coords, zero, logits, 30.0 * torch.nn.functional.one_hot(b, 4).float())

    monkeypatch.setattr(bond_pipeline, "run_network", copy)
    near, far = trajectory_probe(generator, data, (0.02, 1.0), seed=0)
    assert near["generated_bonds_atom_stability"] > 0.9, near
    assert far["generated_bonds_atom_stability"] < 0.5, far


def test_the_specs_training_time_distribution_reaches_the_bond_process(bonded):
    """A config's "process": {"t_sampling": "logit_normal", "logit_loc": -0.5} trains the bond
    mode on those times (median t = sigmoid(−0.5) ≈ 0.38), not on the uniform default."""
    from polydit.core.config import from_dict
    from polydit.molecule.bond_model import BondProcess
    from polydit.molecule.bond_train import fitted_process
    from polydit.molecule.train import MoleculeTrainSpec

    spec = from_dict(
        MoleculeTrainSpec,
        {"bonds": True, "process": {"t_sampling": "logit_normal", "logit_loc": -0.5}},
        where="config",
    )
    process = BondProcess(fitted_process(spec, bonded))
    t = process.coords.sample_t(20_000, torch.Generator().manual_seed(0), "cpu")
    assert abs(float(t.median()) - float(torch.sigmoid(torch.tensor(-0.5)))) < 0.01
    uniform = BondProcess(fitted_process(MoleculeTrainSpec(bonds=True), bonded))
    u = uniform.coords.sample_t(20_000, torch.Generator().manual_seed(0), "cpu")
    assert abs(float(u.median()) - 0.5) < 0.01


def test_a_self_conditioned_bond_model_starts_as_its_donor_and_feeds_back_every_estimate(
    tiny_bond_model, bonded, monkeypatch
):
    """Warm-started from a plain model, a self-conditioned one samples the donor's molecules
    bit-exactly (zero-initialised embeddings); the sampler hands call k the estimates of call
    k − 1 (none to the first); training runs the gradient-free first pass on about half the
    batches, and the self-conditioning embeddings get gradients."""
    from polydit.core.train import warm_start
    from polydit.molecule import bond_pipeline, bond_train, load_pretrained
    from polydit.molecule.bond_model import run_network
    from polydit.molecule.train import MoleculeTrainSpec, build, loss

    donor = load_pretrained(tiny_bond_model)
    for p in donor.model.parameters():  # a random network, not the zero-initialised one
        torch.nn.init.normal_(p, std=0.05)
    spec = MoleculeTrainSpec(
        preset="tiny", bonds=True, self_condition=True, sampling=SamplingConfig(steps=4)
    )
    model = build(spec, bonded, seed=0)
    assert warm_start(model.model, donor.model, "donor") == [
        "edge_self_embed.bias", "edge_self_embed.weight", "self_embed.bias", "self_embed.weight"
    ]  # fmt: skip
    a, b = donor.generate_atoms(4, seed=1), model.generate_atoms(4, seed=1)
    for field in ("types", "coords", "bonds"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field

    calls = []

    def spy(net, coords, types, bonds, mask, t, previous=None):
        out = run_network(net, coords, types, bonds, mask, t, previous)
        calls.append((previous, out))
        return out

    monkeypatch.setattr(bond_pipeline, "run_network", spy)
    model.generate_atoms(2, seed=0)
    assert len(calls) == 4 and calls[0][0] is None
    assert all(calls[k][0] is calls[k - 1][1] for k in range(1, 4))

    monkeypatch.setattr(bond_train, "run_network", spy)
    calls.clear()
    fn = loss(spec, model)
    g = torch.Generator().manual_seed(0)
    batches = 20
    for _ in range(batches):
        fn(model.model, bonded.batch(torch.arange(8)), g)
    conditioned = [i for i, (previous, _) in enumerate(calls) if previous is not None]
    assert len(calls) == batches + len(conditioned) and 4 <= len(conditioned) <= 16
    assert all(calls[i][0] is calls[i - 1][1] for i in conditioned)  # the first pass's output
    for _ in range(50):  # a self-conditioned batch, so the embeddings are in use
        calls.clear()
        out = fn(model.model, bonded.batch(torch.arange(8)), g)
        if calls[-1][0] is not None:
            break
    model.model.zero_grad()
    out["loss"].backward()
    assert model.model.edge_self_embed.weight.grad.abs().sum() > 0
    assert model.model.self_embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_a_coordinate_step_towards_the_true_x0_keeps_the_paths_marginal(eta):
    """With x̂0 the true x0, x_t = (1 − t) x0 + t ε steps to x_s = (1 − s) x0 + s ε' whose noise
    ε' has the centred noise's variance (n − 1)/n for every η; η > 0 replaces part of ε by fresh
    noise, so the correlation of ε' with ε is √(s² − c²)/s (1 at η = 0, the Euler step)."""
    from polydit.core.sampling.samplers import StepNoise
    from polydit.molecule.bond_pipeline import coordinate_step
    from polydit.molecule.codec import centred_noise

    rows, n, t, s = 4000, 8, 0.6, 0.4
    mask = torch.ones(rows, n, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    x0 = centred_noise((rows, n, 3), mask, g) * 1.5
    eps = centred_noise((rows, n, 3), mask, g)
    x_s = coordinate_step((1 - t) * x0 + t * eps, x0, t, s, eta, StepNoise(7, rows, 1), mask)
    new = (x_s - (1 - s) * x0) / s
    assert torch.allclose(new.sum(1), torch.zeros(rows, 3), atol=1e-4)  # still centred
    assert abs(float(new.var()) - (n - 1) / n) < 0.02
    c2 = eta**2 * s**2 * (1 - ((1 - t) * s / ((1 - s) * t)) ** 2)
    correlation = float((new * eps).mean() / (eps * eps).mean())
    assert abs(correlation - (s**2 - c2) ** 0.5 / s) < 0.02
    if eta == 0:  # the flow's Euler step itself
        assert torch.equal(x_s, coordinate_step((1 - t) * x0 + t * eps, x0, t, s, 0.0,
                                                StepNoise(8, rows, 1), mask))  # fmt: skip


def test_coord_eta_reaches_the_coordinate_steps_and_is_checked(
    tiny_bond_model, tmp_path, run_cli, monkeypatch
):
    """sample --coord-eta 1 makes the coordinate steps stochastic (other molecules than the
    default η = 0 from the same seed, each reproducible); out of [0, 1] is an error naming the
    flag, and an atoms-only model has no such setting."""
    from polydit.core.errors import ConfigError
    from polydit.molecule import bond_pipeline, load_pretrained

    seen = []
    real = bond_pipeline.coordinate_step

    def spy(*args):
        seen.append(args[4])
        return real(*args)

    monkeypatch.setattr(bond_pipeline, "coordinate_step", spy)
    run_cli("sample", "--model", str(tiny_bond_model), "--num", "2", "--coord-eta", "1",
            "--out", str(tmp_path / "s"))  # fmt: skip
    assert seen and set(seen) == {1.0}
    generator = load_pretrained(tiny_bond_model)
    for p in generator.model.parameters():  # a random network moves the coordinates
        torch.nn.init.normal_(p, std=0.05)
    plain, stochastic = (
        generator.generate_atoms(2, 0),
        generator.generate_atoms(2, 0, coord_eta=1.0),
    )
    assert not torch.equal(plain.coords, stochastic.coords)
    assert torch.equal(stochastic.coords, generator.generate_atoms(2, 0, coord_eta=1.0).coords)
    with pytest.raises(ConfigError, match=r"--coord-eta must be in \[0, 1\]"):
        generator.generate_atoms(1, coord_eta=1.5)
    with pytest.raises(ConfigError, match="--coord-eta: not a sampling setting"):
        load_pretrained("qm9").generate_atoms(1, coord_eta=0.5)
