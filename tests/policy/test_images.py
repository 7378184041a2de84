"""Image observations: state + an offscreen-rendered camera frame, as patch context tokens."""

from pathlib import Path

import numpy as np
import pytest
import torch

from polydit.policy.codec import ActionCodec
from polydit.policy.data import collect
from polydit.policy.env import RenderingUnavailable, make_env
from polydit.policy.rollout import rollout

SIZE = 16


def _rendering_env():
    env = make_env("reach-v3", image_size=SIZE)
    try:
        env.reset(seed=1000)
    except RenderingUnavailable as e:
        pytest.skip(str(e))
    return env


def test_without_a_rendering_library_image_observations_fail_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = make_env("reach-v3", image_size=SIZE)

    def broken() -> None:
        raise AttributeError("'NoneType' object has no attribute 'glGetError'")

    monkeypatch.setattr(env._env, "render", broken)
    with pytest.raises(RenderingUnavailable, match="apt-get install libosmesa6"):
        env.reset(seed=1000)


def test_image_observation_is_the_state_then_the_frame() -> None:
    env = _rendering_env()
    obs, _ = env.reset(seed=1000)
    assert env.state_dim == 39 and env.observation_dim == 39 + 3 * SIZE * SIZE
    assert obs.shape == (env.observation_dim,) and obs.dtype == np.float32
    pixels = obs[39:]
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0 and pixels.std() > 0
    state_only, _ = make_env("reach-v3").reset(seed=1000)
    np.testing.assert_array_equal(obs[:39], state_only)


def test_codec_cuts_frames_into_patch_tokens() -> None:
    cfg = ActionCodec(
        tasks=("reach-v3",),
        obs_dim=2 + 3 * 8 * 8,
        action_dim=4,
        obs_min=(0.0,) * (2 + 192),
        obs_max=(1.0,) * (2 + 192),
        act_min=(-1.0,) * 4,
        act_max=(1.0,) * 4,
        horizon=4,
        n_obs=2,
        n_action_steps=2,
        image_size=8,
        patch=4,
    )
    assert cfg.state_dim == 2 and cfg.num_patches == 4 and cfg.num_context == 2 * 5
    assert cfg.context_dim == 2 + 2 + 48 + 4
    frame = torch.zeros(8, 8, 3)
    frame[4:, :4] = 1.0  # the bottom-left patch (index 2) is white
    obs = torch.cat([torch.tensor([0.5, 0.5]), frame.reshape(-1)]).expand(1, 2, -1)
    ctx = cfg.context(obs)
    assert ctx.shape == (1, 10, cfg.context_dim)
    patches = ctx[0, 2:6]  # the first observation's patches
    assert (patches[2, 4:52] == 1).all() and (patches[[0, 1, 3], 4:52] == -1).all()
    assert (patches[:, 52:] == torch.eye(4)).all() and (
        patches[:, 2:4] == torch.tensor([1, 0])
    ).all()


def test_an_image_policy_trains_and_rolls_out(tmp_path: Path, train_tiny) -> None:
    _rendering_env()
    collect(("reach-v3",), 1, tmp_path / "demos", image_size=SIZE)
    gen = train_tiny(tmp_path / "demos", 2, 4, image_size=SIZE, patch=8)
    assert gen.codec.num_context == 2 * (1 + 4)
    result = rollout(
        lambda: make_env("reach-v3", image_size=SIZE),
        gen.controller("reach-v3"),
        [1000],
        num_envs=1,
        max_steps=4,
    )
    assert result.length == [4] and len(result.chunk_seconds) == 2
