"""MoleculeCodec round trip, templates and rotation augmentation."""

import numpy as np
import torch

from polydit.molecule.bonds import bond_orders
from polydit.molecule.codec import MoleculeCodec, random_rotations, rotate


def test_encode_decode_round_trip_is_exact(qm9_sample):
    batch = qm9_sample.batch(torch.arange(64))
    codec = MoleculeCodec(qm9_sample.atom_types)
    tokens = codec.encode(batch)
    assert tokens.x.shape == (64, batch["types"].shape[1], 3 + 5)
    assert tokens.pos is None and torch.equal(tokens.mask, batch["mask"])
    assert (tokens.x[~batch["mask"]] == 0).all()
    atoms = codec.decode(tokens.x, tokens)
    assert torch.equal(atoms.types, batch["types"])
    assert torch.equal(atoms.coords, batch["coords"])


def test_random_rotations_are_proper_and_seeded():
    r = random_rotations(100, torch.Generator().manual_seed(0))
    eye = torch.eye(3).expand(100, 3, 3)
    assert torch.allclose(r @ r.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(100), atol=1e-5)
    assert torch.equal(r, random_rotations(100, torch.Generator().manual_seed(0)))
    assert r.mean(0).abs().max() < 0.2  # spread over SO(3), not clustered at identity


def test_rotation_augmentation_keeps_the_bond_graph(qm9_sample):
    batch = qm9_sample.batch(torch.arange(40))
    rotated = rotate(batch["coords"], random_rotations(40, torch.Generator().manual_seed(1)))
    for i in range(40):
        n = int(qm9_sample.num_atoms[i])
        symbols = [qm9_sample.atom_types[t] for t in batch["types"][i, :n].tolist()]
        before = bond_orders(symbols, batch["coords"][i, :n].numpy())
        after = bond_orders(symbols, rotated[i, :n].numpy())
        assert np.array_equal(before, after)
    assert not torch.allclose(rotated, batch["coords"])
