"""Episode files: round-trip, and clear errors on corrupt or missing files."""

from collections.abc import Callable
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


def _truncated(path: Path) -> None:
    data = save_episode(path, _episode()).read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _missing_keys(path: Path) -> None:
    np.savez(path, observations=np.zeros((2, 3)))


def _mismatched_lengths(path: Path) -> None:
    episode = _episode()
    episode.actions = episode.actions[:3]
    save_episode(path, episode)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_truncated, "corrupt or truncated"),
        (lambda path: path.write_text("hello"), "corrupt or truncated"),
        (_missing_keys, "missing format, task, actions"),
        (_mismatched_lengths, "same T"),
    ],
    ids=["truncated", "not-an-npz", "missing-keys", "mismatched-lengths"],
)
def test_a_bad_episode_file_is_a_clear_error_naming_it(
    tmp_path: Path, write: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "ep.npz"
    write(path)
    with pytest.raises(DataError, match=rf"ep\.npz: .*{message}"):
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
