"""Episode files: round-trip, and clear errors on corrupt or missing files."""

from pathlib import Path

import numpy as np
import pytest

from polydit.core.errors import DataError
from polydit.policy.io import Episode, episode_files, load_episode, load_episodes, save_episode


def _episode(seed: int = 3) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        task="push-v3",
        observations=rng.normal(size=(7, 39)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(7, 4)).astype(np.float32),
        success=True,
        seed=seed,
        action_noise=0.1,
    )


def test_episode_round_trip(tmp_path: Path) -> None:
    ep = _episode()
    path = save_episode(tmp_path / "push-v3" / "seed_00003.npz", ep)
    back = load_episode(path)
    assert back.task == ep.task and back.success and back.seed == 3
    assert back.action_noise == pytest.approx(0.1)
    np.testing.assert_array_equal(back.observations, ep.observations)
    np.testing.assert_array_equal(back.actions, ep.actions)
    assert [e.seed for e in load_episodes(tmp_path)] == [3]


def test_truncated_file_is_a_clear_error(tmp_path: Path) -> None:
    path = save_episode(tmp_path / "ep.npz", _episode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"ep\.npz: corrupt or truncated"):
        load_episode(path)


def test_not_an_npz_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ep.npz"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"ep\.npz"):
        load_episode(path)


def test_missing_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "ep.npz"
    np.savez(path, observations=np.zeros((2, 3)))
    with pytest.raises(DataError, match="missing format, task, actions"):
        load_episode(path)


def test_mismatched_lengths_are_refused(tmp_path: Path) -> None:
    ep = _episode()
    ep.actions = ep.actions[:3]
    path = save_episode(tmp_path / "ep.npz", ep)
    with pytest.raises(DataError, match="same T"):
        load_episode(path)


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such episode directory"):
        episode_files(tmp_path / "nope")
    with pytest.raises(DataError, match=r"no .*npz episode files"):
        episode_files(tmp_path)


def test_labels_are_clipped_to_the_action_box_before_normalisation() -> None:
    from polydit.policy.data import clip_labels, fit_episode_codec

    ep = _episode()
    ep.actions[0] = [11.5, -6.0, 0.3, 1.0]  # a scripted expert's raw P-control output
    (clipped,) = clip_labels([ep], 1.0)
    np.testing.assert_array_equal(clipped.actions[0], np.float32([1.0, -1.0, 0.3, 1.0]))
    np.testing.assert_array_equal(clipped.actions[1:], ep.actions[1:])
    assert ep.actions[0, 0] == 11.5  # the input is not modified
    assert clip_labels([ep], None)[0].actions[0, 0] == 11.5
    codec = fit_episode_codec([clipped], goal="task", horizon=4, n_obs=2, n_action_steps=2)
    assert max(codec.act_max) <= 1.0 and min(codec.act_min) >= -1.0
