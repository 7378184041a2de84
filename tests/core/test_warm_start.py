"""Warm starts: weights copied, added options start fresh, other differences named."""

from __future__ import annotations

import pytest
import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.hub import resolve_pretrained
from polydit.core.train import warm_start


def dit(**overrides) -> DiT:
    torch.manual_seed(len(overrides))
    return DiT(DiTConfig.preset("tiny", in_dim=4, pos_axes=1, **overrides))


def test_same_architecture_copies_every_weight():
    donor, model = dit(), dit()
    with torch.no_grad():
        for p in donor.parameters():
            p.add_(torch.randn_like(p))
    assert warm_start(model, donor, "src") == []
    for (k, a), (_, b) in zip(donor.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_additive_options_keep_their_initialisation():
    donor = dit()
    model = dit(self_condition=True, vector_dim=2, num_classes=3)
    fresh = warm_start(model, donor, "src")
    assert (
        "self_embed.weight" in fresh and "null_vector" in fresh and "labels.table.weight" in fresh
    )
    assert torch.equal(model.embed.weight, donor.embed.weight)
    assert not model.self_embed.weight.any()  # still zero: starts as the donor's function


def test_other_differences_are_named():
    with pytest.raises(ConfigError, match=r"--init-from src: .*hidden \(128 there, 64 here\)"):
        warm_start(dit(hidden=64), dit(), "src")
    with pytest.raises(ConfigError, match="num_classes"):  # the donor has labels, the model not
        warm_start(dit(), dit(num_classes=3), "src")


def test_resolve_pretrained(tmp_path):
    (tmp_path / "shipped" / "digits").mkdir(parents=True)
    (tmp_path / "shipped" / "digits" / "config.json").write_text("{}")
    (tmp_path / "shipped" / "not-a-model").mkdir()
    assert (
        resolve_pretrained("digits", tmp_path / "shipped", "--init-from")
        == tmp_path / "shipped" / "digits"
    )
    assert resolve_pretrained(tmp_path / "shipped", tmp_path / "x") == tmp_path / "shipped"
    with pytest.raises(ConfigError, match=r"--init-from nope: .*\(digits\)$"):
        resolve_pretrained("nope", tmp_path / "shipped", "--init-from")
