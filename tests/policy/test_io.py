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


def _bad_deflate(path: Path) -> None:
    """Found by tests/test_fuzz.py: a member whose deflate stream is broken (zlib.error)."""
    import struct
    import zipfile

    save_episode(path, _episode())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("observations.npy")
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, member.header_offset + 26)
    start = member.header_offset + 30 + name_length + extra_length  # the deflate stream
    data[start : start + 8] = b"\xff" * 8  # an invalid deflate block type
    path.write_bytes(bytes(data))


def _arrays(**changed: object) -> Callable[[Path], None]:
    """An episode file whose arrays `changed` replace those save_episode writes."""

    def write(path: Path) -> None:
        save_episode(path, _episode())
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        np.savez(path, **{**arrays, **changed})

    return write


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_truncated, "corrupt or truncated"),
        (lambda path: path.write_text("hello"), "corrupt or truncated"),
        (_missing_keys, "missing format, task, actions"),
        (_mismatched_lengths, "same T"),
        (_bad_deflate, r"corrupt or truncated episode file \(error: Error -3"),
        (
            _arrays(format=np.array([1, 1])),
            "field 'format' is an array of dtype int64 and shape \\(2,\\)",
        ),
        (_arrays(task=np.array(["a", "b"])), "field 'task' is an array of dtype <U1 and shape"),
        (
            _arrays(task=np.int64(3)),
            "field 'task' is an array of dtype int64 and shape \\(\\), expected a task",
        ),
        (
            _arrays(observations=np.full((7, 39), "x")),
            "field 'observations' is an array of dtype <U1",
        ),
        (
            _arrays(actions=np.full((7, 4), 1e39)),
            "field 'actions' holds NaN, inf or values beyond float32",
        ),
        (
            _arrays(success=np.int64(2)),
            "field 'success' is an array of dtype int64 and shape \\(\\), expected a bool",
        ),
        (_arrays(seed=np.float64(1.5)), "field 'seed' is an array of dtype float64"),
        (
            _arrays(action_noise=np.float64(-1)),
            "field 'action_noise' is -1.0, expected a number ≥ 0",
        ),
    ],
    ids=[
        "truncated",
        "not-an-npz",
        "missing-keys",
        "mismatched-lengths",
        "broken-deflate",
        "format-not-a-scalar",
        "task-not-a-scalar",
        "task-not-a-string",
        "observations-not-numbers",
        "actions-overflow-float32",
        "success-not-a-bool",
        "seed-not-an-integer",
        "action-noise-negative",
    ],
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
