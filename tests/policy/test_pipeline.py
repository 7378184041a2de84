"""Codec, PolicyGenerator (save/load, seeds) and the receding-horizon controller."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.policy.codec import ActionCodec, fit_codec
from polydit.policy.model import dit_cost, policy_dit_config
from polydit.policy.pipeline import PolicyGenerator
from polydit.policy.rollout import ChunkController

TASKS = ("push-v3", "reach-v3")


def _codec(**settings) -> ActionCodec:
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(50, 39)).astype(np.float32)
    obs[:, 5] = 0.25  # a constant dimension
    act = rng.uniform(-1, 1, size=(50, 4)).astype(np.float32)
    return fit_codec(obs, act, TASKS, horizon=8, n_obs=2, n_action_steps=4, **settings)


def _generator(moe: bool = False) -> PolicyGenerator:
    torch.manual_seed(0)
    codec = _codec(demo_seed_max=99)
    model = DiT(policy_dit_config(codec, hidden=32, depth=2, heads=2, moe=moe))
    for p in model.parameters():  # leave adaLN-Zero so the output depends on the inputs
        torch.nn.init.normal_(p, std=0.05)
    process = build_process(ProcessConfig())
    return PolicyGenerator(model, process, SamplingConfig(4, "euler"), codec=codec)


def test_codec_normalisation_round_trips_and_survives_json() -> None:
    codec = _codec()
    actions = torch.rand(3, 8, 4) * 2 - 1
    tokens = codec.encode({"actions": actions})
    assert tokens.x.shape == (3, 8, 4) and tokens.pos.shape == (3, 8, 1)
    assert tokens.x.abs().max() <= 1.5
    torch.testing.assert_close(codec.decode(tokens.x, tokens), actions)
    ctx = codec.context(torch.zeros(3, 2, 39))
    assert ctx.shape == (3, 2, 41) and torch.isfinite(ctx).all()
    assert ActionCodec.from_dict(codec.to_dict()) == codec
    with pytest.raises(ConfigError, match="n_action_steps"):
        dataclasses.replace(codec, n_action_steps=9)


def test_unknown_task_for_a_model_is_a_clear_error() -> None:
    gen = _generator()
    with pytest.raises(ConfigError, match="not one this model was trained on: push-v3, reach-v3"):
        gen.predict(np.zeros((1, 2, 39)), "door-open-v3")


def test_same_seed_same_chunk_and_save_load(tmp_path: Path) -> None:
    gen = _generator()
    hist = np.random.default_rng(1).normal(size=(2, 2, 39)).astype(np.float32)
    a = gen.predict(hist, "push-v3", seed=3)
    b = gen.predict(hist, "push-v3", seed=3)
    c = gen.predict(hist, "push-v3", seed=4)
    assert a.shape == (2, 8, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    gen.save_pretrained(tmp_path / "m")
    back = PolicyGenerator.from_pretrained(tmp_path / "m")
    assert back.codec == gen.codec
    np.testing.assert_allclose(back.predict(hist, "push-v3", seed=3), a, atol=1e-6)


def test_controller_executes_k_actions_then_replans() -> None:
    calls = []

    def predict(history: np.ndarray, call: int) -> np.ndarray:
        calls.append(history.copy())
        chunk = np.arange(8, dtype=np.float32)[None, :, None] + 100 * call
        return np.repeat(np.repeat(chunk, history.shape[0], 0), 4, 2)

    ctrl = ChunkController(predict, n_obs=2, n_action_steps=3)
    ctrl.reset(1)
    executed = []
    for t in range(7):
        obs = np.full((1, 5), float(t), np.float32)
        executed.append(ctrl.act(obs, np.array([True]))[0, 0])
    assert executed == [0, 1, 2, 100, 101, 102, 200]
    assert len(calls) == 3
    np.testing.assert_array_equal(calls[0][0, :, 0], [0, 0])  # edge-padded history
    np.testing.assert_array_equal(calls[1][0, :, 0], [2, 3])  # the last two observations


def test_moe_option_counts_active_parameters() -> None:
    dense, moe = _generator(), _generator(moe=True)
    c_dense = dit_cost(dense.model, 8, 2, steps=4)
    c_moe = dit_cost(moe.model, 8, 2, steps=4)
    assert c_dense.params_active == c_dense.params_total
    assert c_moe.params_active < c_moe.params_total
    assert c_moe.flops_per_chunk == 4 * c_moe.flops_per_forward
    assert moe.predict(np.zeros((1, 2, 39)), "reach-v3").shape == (1, 8, 4)


def test_expert_cache_matches_routed_moe_and_reuses_routes() -> None:
    gen = _generator(moe=True)
    hist = np.random.default_rng(2).normal(size=(3, 2, 39)).astype(np.float32)
    gen.use_expert_cache = False
    plain = gen.predict(hist, "push-v3", seed=1)
    gen.use_expert_cache = True
    cached = gen.predict(hist, "push-v3", seed=1)
    np.testing.assert_allclose(cached, plain, atol=1e-5)
    layers, steps = len(gen.expert_cache.layers), gen.sampling.steps
    assert gen.expert_cache.misses == layers * steps and gen.expert_cache.hits == 0
    gen.predict(hist, "push-v3", seed=2)  # same time grid and task: every route is reused
    assert gen.expert_cache.hits == layers * steps


def test_action_steps_override_of_the_controller() -> None:
    gen = _generator()
    assert gen.controller("push-v3").n_action_steps == 4
    assert gen.controller("push-v3", action_steps=2).n_action_steps == 2
    with pytest.raises(ConfigError, match=r"action_steps=9: expected 1..8"):
        gen.controller("push-v3", action_steps=9)
