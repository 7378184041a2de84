"""MoleculeGenerator: persistence, determinism, atom counts, RDKit output."""

from pathlib import Path

import pytest
import torch

from polydit.molecule import load_pretrained
from polydit.molecule.io import VALID_PROP
from polydit.molecule.pipeline import MoleculeGenerator


def test_sample_returns_rdkit_mols_with_3d_conformers(tiny_model_dir: Path):
    gen = MoleculeGenerator.from_pretrained(tiny_model_dir)
    mols = gen.sample(4, seed=0)
    assert len(mols) == 4
    counts = gen.atom_counts(4, 0).tolist()
    for mol, n in zip(mols, counts, strict=True):
        assert mol.GetNumAtoms() == n
        assert mol.GetNumConformers() == 1 and mol.GetConformer().Is3D()
        assert mol.GetIntProp(VALID_PROP) in (0, 1)
        assert set(a.GetSymbol() for a in mol.GetAtoms()) <= set(gen.codec.atom_types)


def test_same_seed_same_molecules_independent_of_batch(tiny_model_dir: Path):
    gen = MoleculeGenerator.from_pretrained(tiny_model_dir)
    a = gen.generate_atoms(5, seed=7)
    b = gen.generate_atoms(3, seed=7)
    c = gen.generate_atoms(3, seed=8)
    assert torch.equal(a.types[:3], b.types) and torch.allclose(a.coords[:3], b.coords)
    assert torch.equal(a.num_atoms[1:3], c.num_atoms[:2])  # count i comes from seed + i
    assert not torch.allclose(a.coords[:3], c.coords)


def test_atom_counts_follow_the_training_histogram(tiny_model_dir: Path):
    gen = MoleculeGenerator.from_pretrained(tiny_model_dir)
    counts = gen.atom_counts(2000, 0)
    hist = torch.tensor(gen.codec.size_histogram, dtype=torch.float)
    assert (hist[counts] > 0).all()  # never a size the training set lacks
    expected = (hist * torch.arange(len(hist))).sum() / hist.sum()
    assert abs(counts.float().mean() - expected) < 0.3


def test_centred_noise_has_zero_centre_of_mass_over_real_atoms():
    from polydit.molecule.codec import centred_noise

    mask = torch.arange(6)[None, :] < torch.tensor([[3], [6]])
    noise = centred_noise((2, 6, 8), mask, torch.Generator().manual_seed(0))
    assert torch.allclose(noise[..., :3].sum(1), torch.zeros(2, 3), atol=1e-6)
    assert (noise[0, 3:] == 0).all() and noise[0, :3, 3:].abs().sum() > 0


def test_generator_noise_is_centred_and_per_sample(qm9_sample):
    import numpy as np

    from polydit.core.pipeline import SamplingConfig
    from polydit.core.tokens import Tokens
    from polydit.molecule.train import MoleculeTrainSpec, build

    spec = MoleculeTrainSpec(preset="tiny", sampling=SamplingConfig(steps=2))
    gen = build(spec, qm9_sample.subset(np.arange(20)), 0)
    assert gen.codec.centre_noise
    mask = torch.arange(8)[None, :] < torch.tensor([[5], [8]])
    noise = gen.initial_noise(Tokens(torch.zeros(2, 8, 8), None, mask), seed=4)
    assert torch.allclose(noise[..., :3].sum(1), torch.zeros(2, 3), atol=1e-5)
    alone = gen.initial_noise(Tokens(torch.zeros(1, 8, 8), None, mask[1:]), seed=5)
    assert torch.allclose(alone[0], noise[1])


def test_pair_bias_model_round_trips_and_matches_cached_sampling(qm9_sample, tmp_path: Path):
    import numpy as np

    from polydit.core.pipeline import SamplingConfig
    from polydit.molecule.pair_bias import PairBiasDiT
    from polydit.molecule.train import MoleculeTrainSpec, build

    spec = MoleculeTrainSpec(preset="tiny", pair_bias=True, sampling=SamplingConfig(steps=3))
    gen = build(spec, qm9_sample.subset(np.arange(20)), 0)
    torch.nn.init.normal_(gen.model.pair.mlp[2].weight)  # a non-zero bias
    a = gen.generate_atoms(3, 0)
    again = MoleculeGenerator.from_pretrained(gen.save_pretrained(tmp_path / "m"))
    assert isinstance(again.model, PairBiasDiT)
    assert torch.equal(a.coords, again.generate_atoms(3, 0).coords)
    cached = again.generate_atoms(3, 0, cache="fora", cache_opts={"interval": 1})
    assert torch.equal(a.coords, cached.coords)


def test_adit_loss_weight_needs_x0_prediction_and_weights_small_t():
    from polydit.core.errors import ConfigError
    from polydit.core.process import ProcessConfig, build_process
    from polydit.core.tokens import Tokens
    from polydit.molecule.train import MoleculeTrainSpec, adit_time_weight

    with pytest.raises(ConfigError, match="x0"):
        MoleculeTrainSpec(loss_weight="adit")
    process = build_process(ProcessConfig(prediction="x0"))
    tokens = Tokens(torch.ones(2, 4, 8), None, torch.ones(2, 4, dtype=torch.bool))

    def zero_model(tok, t, cond):
        return torch.zeros_like(tok.x)

    def loss_at(t: float) -> float:
        process.sample_t = lambda n, generator=None, device="cpu": torch.full((n,), t)
        return process.training_loss(zero_model, tokens, time_weight=adit_time_weight).item()

    assert loss_at(0.05) == pytest.approx(100.0)  # weight 1 / 0.1²
    assert loss_at(0.5) == pytest.approx(4.0)  # weight 1 / 0.5²


def test_self_condition_wires_spec_to_saved_config_and_sampling(
    qm9_sample, tiny_model_dir: Path, tmp_path: Path
):
    """A self-conditioned run warm-starts a plain model exactly (zero-initialised embedding),
    saves self_condition in its config, and sampling feeds the previous estimate back."""
    import numpy as np

    from polydit.core.pipeline import SamplingConfig
    from polydit.core.tokens import Tokens
    from polydit.molecule.train import MoleculeTrainSpec, build, layout_warm_start

    data = qm9_sample.subset(np.arange(50))
    spec = MoleculeTrainSpec(preset="tiny", self_condition=True, sampling=SamplingConfig(steps=3))
    gen = build(spec, data, 0)
    donor = load_pretrained(str(tiny_model_dir))
    assert layout_warm_start(gen, donor, str(tiny_model_dir)) is gen
    ours, theirs = gen.model.state_dict(), donor.model.state_dict()
    assert sorted(set(ours) - set(theirs)) == ["self_embed.bias", "self_embed.weight"]
    assert all(torch.equal(ours[k], v) for k, v in theirs.items())
    tokens = Tokens(torch.randn(2, 5, 8), None, None)
    t = torch.full((2,), 0.5)
    assert torch.equal(gen.model(tokens, t), donor.model(tokens, t))

    torch.nn.init.normal_(gen.model.self_embed.weight)  # as if trained (untrained, the
    torch.nn.init.normal_(gen.model.head.linear.weight, std=0.1)  # zero head hides everything)
    loaded = MoleculeGenerator.from_pretrained(gen.save_pretrained(tmp_path / "sc"))
    assert loaded.model.config.self_condition
    with_sc = loaded.generate_atoms(3, 0, sampler="euler").coords
    torch.nn.init.zeros_(loaded.model.self_embed.weight)
    without = loaded.generate_atoms(3, 0, sampler="euler").coords
    assert not torch.allclose(with_sc, without)


def test_gap_conditioning_round_trips_changes_samples_and_guides(qm9_sample, tmp_path: Path):
    """The gap statistics survive config.json; the target gap changes samples; guidance scale 0
    is the unconditional model and scale 1 the conditional one."""
    import numpy as np

    from polydit.core.errors import ConfigError
    from polydit.core.pipeline import SamplingConfig
    from polydit.molecule.train import MoleculeTrainSpec, build, loss

    data = qm9_sample.subset(np.arange(50))
    spec = MoleculeTrainSpec(preset="tiny", condition_gap=True, sampling=SamplingConfig(steps=3))
    gen = build(spec, data, 0)
    assert gen.codec.gap == pytest.approx((float(data.gap.mean()), float(data.gap.std())))
    loss_fn = loss(spec.replace(cfg_dropout=0.5), gen)
    batch = data.batch(torch.arange(8))
    assert torch.isfinite(loss_fn(gen.model, batch, torch.Generator().manual_seed(0)))

    torch.nn.init.normal_(gen.model.head.linear.weight, std=0.1)  # untrained heads are zero
    for block in gen.model.blocks:
        torch.nn.init.normal_(block.adaln[-1].weight, std=0.1)
    loaded = MoleculeGenerator.from_pretrained(gen.save_pretrained(tmp_path / "gap"))
    assert loaded.codec.gap == gen.codec.gap and loaded.model.config.vector_dim == 1

    def coords(**kw):
        return loaded.generate_atoms(3, 0, sampler="euler", **kw).coords

    low, high = coords(gap=3.0), coords(gap=9.0)
    assert not torch.allclose(low, high)
    assert torch.allclose(coords(gap=3.0, cfg_scale=1.0), low)
    assert torch.allclose(coords(gap=3.0, cfg_scale=0.0), coords(), atol=1e-5)
    assert not torch.allclose(coords(gap=3.0, cfg_scale=2.0), low)
    with pytest.raises(ConfigError, match="--gap"):
        build(MoleculeTrainSpec(preset="tiny"), data, 0).generate_atoms(1, 0, gap=3.0)


def test_every_kind_sizes_its_dit_from_the_shared_presets_with_overrides(qm9_sample):
    from polydit.core.errors import ConfigError
    from polydit.molecule.crystal.train import CrystalTrainSpec
    from polydit.molecule.joint.train import JointTrainSpec
    from polydit.molecule.train import MoleculeTrainSpec, build

    for spec_type in (MoleculeTrainSpec, CrystalTrainSpec, JointTrainSpec):
        assert spec_type().dit_size() == {"hidden": 128, "depth": 6, "heads": 4}
        spec = spec_type().merged({"preset": "tiny", "depth": 3})
        assert spec.dit_size() == {"hidden": 64, "depth": 3, "heads": 4}
    model = build(MoleculeTrainSpec(preset="tiny", hidden=32, heads=2), qm9_sample, 0).model
    assert (model.config.hidden, model.config.depth, model.config.heads) == (32, 2, 2)
    with pytest.raises(ConfigError, match="unknown preset 'huge'; choose one of tiny, small, base"):
        MoleculeTrainSpec(preset="huge").dit_size()
    with pytest.raises(ConfigError, match="heads=0: expected a positive integer"):
        CrystalTrainSpec(heads=0).dit_size()
