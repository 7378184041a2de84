"""LeRobot datasets: NPZ episodes -> LeRobot v2.1 -> episodes again, the layout LeRobot reads,
training from one, foreign datasets, videos of replayed episodes and clear errors."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from polydit.core.errors import DataError
from polydit.policy import env as policy_env
from polydit.policy.cli import app
from polydit.policy.data import run_expert_episode
from polydit.policy.env import CONTROL_HZ, INSTRUCTIONS, RenderingUnavailable, configure_rendering
from polydit.policy.io import Episode, load_episodes, save_episode
from polydit.policy.lerobot import METAWORLD_STATE, Camera, export_lerobot, load_lerobot
from polydit.policy.train import RECIPE, PolicyTrainSpec

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _episode(task: str, seed: int, length: int, success: bool = True) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        task=task,
        observations=rng.normal(size=(length, 39)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(length, 4)).astype(np.float32),
        success=success,
        seed=seed,
        action_noise=0.1 * (seed % 2),
    )


@pytest.fixture
def demos(tmp_path: Path) -> Path:
    """A collection of NPZ episodes: two tasks, one failed episode."""
    episodes = [
        _episode("push-v3", 0, 7),
        _episode("push-v3", 1, 5, success=False),
        _episode("reach-v3", 2, 9),
    ]
    for ep in episodes:
        save_episode(tmp_path / "demos" / ep.task / f"seed_{ep.seed:05d}.npz", ep)
    return tmp_path / "demos"


def test_npz_to_lerobot_and_back_gives_the_same_episodes(demos: Path, tmp_path: Path) -> None:
    out = tmp_path / "lerobot"
    result = invoke("data", "export", "--format", "lerobot", "--data", demos, "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote 3 episodes (21 frames, 2 tasks)" in result.output
    before, after = load_episodes(demos), load_lerobot(out)
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert (a.task, a.success, a.seed, a.action_noise) == (
            b.task,
            b.success,
            b.seed,
            b.action_noise,
        )
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
        assert a.observations.dtype == np.float32 and a.actions.dtype == np.float32
    shown = invoke("data", "show", "--data", out)
    assert shown.exit_code == 0 and "push-v3: 2 episodes, 1 successful" in shown.output


def test_the_layout_is_lerobot_v2(demos: Path, tmp_path: Path) -> None:
    out = tmp_path / "lerobot"
    export_lerobot(load_episodes(demos), out)
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1" and info["fps"] == CONTROL_HZ == 80
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 21, 2)
    assert info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    state = info["features"]["observation.state"]
    assert state == {"dtype": "float32", "shape": [39], "names": list(METAWORLD_STATE)}
    assert info["features"]["action"]["shape"] == [4]
    assert info["features"]["next.done"]["dtype"] == "bool"
    tasks = [json.loads(s) for s in (out / "meta/tasks.jsonl").read_text().splitlines()]
    assert tasks == [
        {"task_index": 0, "task": INSTRUCTIONS["push-v3"], "metaworld_task": "push-v3"},
        {"task_index": 1, "task": INSTRUCTIONS["reach-v3"], "metaworld_task": "reach-v3"},
    ]
    episodes = [json.loads(s) for s in (out / "meta/episodes.jsonl").read_text().splitlines()]
    assert [(e["episode_index"], e["length"]) for e in episodes] == [(0, 7), (1, 5), (2, 9)]
    assert episodes[2]["tasks"] == [INSTRUCTIONS["reach-v3"]]
    stats = [json.loads(s) for s in (out / "meta/episodes_stats.jsonl").read_text().splitlines()]
    assert stats[0]["stats"]["action"]["count"] == [7]
    assert len(stats[0]["stats"]["observation.state"]["mean"]) == 39
    table = pq.read_table(out / "data/chunk-000/episode_000001.parquet").to_pydict()
    assert set(table) == set(info["features"])
    assert table["index"] == list(range(7, 12)) and table["frame_index"] == list(range(5))
    assert table["episode_index"] == [1] * 5 and table["task_index"] == [0] * 5
    np.testing.assert_allclose(table["timestamp"], np.arange(5) / 80, rtol=1e-6)
    assert table["next.done"] == [False] * 4 + [True]
    assert table["next.success"] == [False] * 5  # episode 1 failed
    last = pq.read_table(out / "data/chunk-000/episode_000002.parquet").to_pydict()
    assert last["next.success"] == [False] * 8 + [True]


def test_train_data_accepts_a_lerobot_dataset(demos: Path, tmp_path: Path) -> None:
    out = tmp_path / "lerobot"
    export_lerobot(load_episodes(demos), out)
    spec = PolicyTrainSpec().merged({"horizon": 4, "n_obs": 2, "n_action_steps": 2})
    from_npz, from_lerobot = RECIPE.data(spec, str(demos), {}), RECIPE.data(spec, str(out), {})
    assert from_lerobot.dataset.codec == from_npz.dataset.codec
    for name in ("obs", "actions", "task"):
        assert getattr(from_lerobot.dataset, name).equal(getattr(from_npz.dataset, name))
    config = tmp_path / "tiny.json"
    tiny = {"horizon": 4, "n_obs": 2, "n_action_steps": 2, "hidden": 16, "depth": 1, "heads": 2}
    config.write_text(json.dumps({**tiny, "train": {"batch_size": 4, "checkpoint_every": 2}}))
    run = tmp_path / "run"
    result = invoke("train", "--data", out, "--config", config, "--steps", 2, "--out", run)
    assert result.exit_code == 0, result.output
    assert (run / "model" / "model.safetensors").is_file()


def _foreign(root: Path) -> None:
    """A dataset as another tool writes it: fixed-size list columns, the instruction as the
    task, no seed/success in episodes.jsonl."""
    (root / "meta").mkdir(parents=True)
    info = {
        "codebase_version": "v2.0",
        "chunks_size": 1000,
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
    }
    (root / "meta/info.json").write_text(json.dumps(info))
    (root / "meta/tasks.jsonl").write_text(
        json.dumps({"task_index": 0, "task": INSTRUCTIONS["push-v3"]}) + "\n"
    )
    (root / "meta/episodes.jsonl").write_text(json.dumps({"episode_index": 0, "length": 3}) + "\n")
    rng = np.random.default_rng(0)
    state = pa.FixedSizeListArray.from_arrays(pa.array(rng.normal(size=9), pa.float32()), 3)
    action = pa.FixedSizeListArray.from_arrays(pa.array(rng.normal(size=6), pa.float32()), 2)
    table = pa.table(
        {
            "observation.state": state,
            "action": action,
            "task_index": pa.array([0, 0, 0]),
            "next.success": pa.array([False, False, True]),
        }
    )
    (root / "data/chunk-000").mkdir(parents=True)
    pq.write_table(table, root / "data/chunk-000/episode_000000.parquet")


def test_a_foreign_v2_dataset_loads(tmp_path: Path) -> None:
    _foreign(tmp_path / "ds")
    (episode,) = load_lerobot(tmp_path / "ds")
    assert episode.task == "push-v3" and episode.success and episode.seed == -1
    assert episode.observations.shape == (3, 3) and episode.actions.shape == (3, 2)


def test_clear_errors(demos: Path, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    result = invoke("data", "export", "--data", demos, "--out", occupied)
    assert result.exit_code == 1 and "exists and is not a LeRobot dataset" in result.output
    assert (occupied / "notes.txt").read_text() == "mine"
    result = invoke("data", "export", "--format", "hdf5", "--data", demos, "--out", tmp_path / "x")
    assert result.exit_code == 1 and "--format hdf5: expected lerobot" in result.output
    _foreign(tmp_path / "ds")
    (tmp_path / "ds/data/chunk-000/episode_000000.parquet").unlink()
    with pytest.raises(DataError, match=r"episode_000000.parquet: missing"):
        load_lerobot(tmp_path / "ds")
    info = tmp_path / "ds/meta/info.json"
    info.write_text(json.dumps({"codebase_version": "v3.0"}))
    with pytest.raises(DataError, match=r"codebase_version v3\.0; this reads LeRobot v2\.x"):
        load_lerobot(tmp_path / "ds")


def _edit(file: str, change) -> object:
    """Rewrite meta/`file` of a dataset: `change(records)` gets the parsed JSON (the list of
    rows for .jsonl) and returns the new content."""

    def edit(root: Path) -> None:
        path = root / "meta" / file
        text = path.read_text()
        if file.endswith(".jsonl"):
            rows = change([json.loads(line) for line in text.splitlines()])
            path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        else:
            path.write_text(json.dumps(change(json.loads(text))))

    return edit


def _set(file: str, **fields: object) -> object:
    def change(content):
        if isinstance(content, list):
            return [{**row, **fields} for row in content]
        return {**content, **fields}

    return _edit(file, change)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit("info.json", lambda info: [info]), r"info\.json: expected a JSON object, got list"),
        (
            _set("info.json", chunks_size=0),
            r"info\.json: chunks_size is 0, expected an integer ≥ 1",
        ),
        (_set("info.json", data_path="{nope}"), r"info\.json: data_path '\{nope\}' is not a path"),
        (
            _set("info.json", data_path="d/{episode_index:99999999999999999999d}"),
            r"info\.json: data_path .* is not a path template",
        ),
        (
            _set("info.json", data_path="d/{episode_index:2147483649d}"),  # a 2 GB file name
            r"info\.json: data_path .* is not a path template .*field \{episode_index:2147",
        ),
        (
            _set("info.json", data_path="../elsewhere/{episode_index}.parquet"),
            r"info\.json: data_path .* leads outside the dataset",
        ),
        (
            _edit("episodes.jsonl", lambda rows: [{"length": 7}, *rows[1:]]),
            r"episodes\.jsonl line 1: episode_index is None, expected an integer ≥ 0",
        ),
        (
            _set("episodes.jsonl", episode_index=float("inf")),
            r"episodes\.jsonl line 1: episode_index is inf",
        ),
        (_set("episodes.jsonl", episode_index=0), r"line 2: episode_index 0 is listed twice"),
        (_set("episodes.jsonl", seed="x"), r"episode 0: meta/episodes\.jsonl seed is 'x'"),
        (_set("episodes.jsonl", success="yes"), r"episode 0: success is 'yes', expected true"),
        (_set("episodes.jsonl", action_noise=float("nan")), r"episode 0: action_noise is nan"),
        (_set("tasks.jsonl", task_index=[0]), r"tasks\.jsonl line 1: task_index is \[0\]"),
    ],
    ids=[
        "info-not-an-object",
        "chunks-size-zero",
        "data-path-unknown-field",
        "data-path-bad-format",
        "data-path-huge-width",
        "data-path-outside",
        "episode-index-missing",
        "episode-index-infinite",
        "episode-index-repeated",
        "seed-not-an-integer",
        "success-not-a-bool",
        "action-noise-nan",
        "task-index-not-an-integer",
    ],
)
def test_a_malformed_meta_file_is_named_with_its_field(
    demos: Path, tmp_path: Path, edit, message: str
) -> None:
    """Found by tests/test_fuzz.py: each of these raised KeyError, TypeError, ValueError,
    OverflowError or ZeroDivisionError, or was accepted."""
    out = tmp_path / "lerobot"
    export_lerobot(load_episodes(demos), out)
    edit(out)
    with pytest.raises(DataError, match=message):
        load_lerobot(out)


@pytest.fixture(scope="module")
def expert_demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two short scripted-expert episodes as NPZ (the first 12 and 9 steps of real ones; a
    prefix replays like the whole): reach-v3 without action noise, push-v3 with 0.1."""
    root = tmp_path_factory.mktemp("expert") / "demos"
    for task, seed, noise, steps in (("reach-v3", 3, 0.0, 12), ("push-v3", 4, 0.1, 9)):
        ep = run_expert_episode(task, seed, noise)
        short = replace(ep, observations=ep.observations[:steps], actions=ep.actions[:steps])
        save_episode(root / task / f"seed_{seed:05d}.npz", short)
    return root


def _needs_rendering() -> None:
    try:
        configure_rendering()
    except RenderingUnavailable as e:
        pytest.skip(f"videos need offscreen rendering: {e}")


def test_export_with_videos_films_the_replayed_episodes(expert_demos: Path, tmp_path: Path) -> None:
    import imageio.v3 as iio

    _needs_rendering()
    out = tmp_path / "lerobot"
    args = ("data", "export", "--videos", "--data", expert_demos, "--out", out)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "wrote 2 episodes (21 frames, 2 tasks) and 2 videos" in result.output
    info = json.loads((out / "meta/info.json").read_text())
    assert info["total_videos"] == 2
    assert info["video_path"] == (
        "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
    key = "observation.images.corner"
    feature = info["features"][key]
    assert feature["dtype"] == "video" and feature["shape"] == [128, 128, 3]
    assert feature["names"] == ["height", "width", "channels"]
    assert feature["info"]["video.fps"] == 80.0 and feature["info"]["video.codec"] == "h264"
    assert feature["info"]["video.pix_fmt"] == "yuv420p"
    stats = [json.loads(s) for s in (out / "meta/episodes_stats.jsonl").read_text().splitlines()]
    before = load_episodes(expert_demos)  # push-v3 first: file-name order
    for i, episode in enumerate(before):
        video = out / f"videos/chunk-000/{key}/episode_{i:06d}.mp4"
        frames = iio.imread(video, plugin="pyav")
        assert frames.shape == (len(episode), 128, 128, 3) and frames.std() > 10
        camera = stats[i]["stats"][key]
        assert np.asarray(camera["mean"]).shape == (3, 1, 1) and camera["count"] == [len(episode)]
        decoded = frames.reshape(-1, 3).mean(0) / 255.0  # H.264 is lossy: close, not equal
        np.testing.assert_allclose(np.asarray(camera["mean"]).reshape(3), decoded, atol=0.02)
        table = pq.read_table(out / f"data/chunk-000/episode_{i:06d}.parquet")
        assert set(table.column_names) == set(info["features"]) - {key}
    for a, b in zip(load_lerobot(out), before, strict=True):  # videos ignored: the same arrays
        assert (a.task, a.seed, a.action_noise) == (b.task, b.seed, b.action_noise)
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)


def test_an_episode_that_does_not_replay_is_refused(expert_demos: Path, tmp_path: Path) -> None:
    """As an episode recorded with another MetaWorld version: its states from step 5 on are not
    what the simulator gives; the export names the file and writes nothing."""
    _needs_rendering()
    demos = tmp_path / "demos"
    episode = load_episodes(expert_demos / "reach-v3")[0]
    moved = episode.observations.copy()
    moved[5:, :3] += 0.01
    save_episode(demos / "seed_00003.npz", replace(episode, observations=moved))
    out = tmp_path / "lerobot"
    result = invoke("data", "export", "--videos", "--data", demos, "--out", out)
    assert result.exit_code == 1
    assert f"{demos / 'seed_00003.npz'}: replaying reach-v3 from seed 3" in result.output
    assert "at step 5 (by 0.01)" in result.output and not out.exists()


def test_an_episode_without_a_seed_cannot_be_filmed(tmp_path: Path) -> None:
    _foreign(tmp_path / "ds")
    result = invoke(
        "data", "export", "--videos", "--data", tmp_path / "ds", "--out", tmp_path / "x"
    )
    assert result.exit_code == 1
    assert "ds episode 0: no environment seed (seed -1); cannot replay" in result.output


def test_without_rendering_videos_are_a_one_line_error(
    expert_demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    select = policy_env.select_gl_backend
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(policy_env, "select_gl_backend", lambda works: select(lambda name: False))
    out = tmp_path / "lerobot"
    result = invoke("data", "export", "--videos", "--data", expert_demos, "--out", out)
    assert result.exit_code == 1 and not out.exists()
    (line,) = result.output.strip().splitlines()
    assert "no offscreen OpenGL for MuJoCo: tried MUJOCO_GL=egl, osmesa" in line


def test_any_camera_of_the_python_api_becomes_videos(demos: Path, tmp_path: Path) -> None:
    """No rendering needed: a camera is any function from episode index to frames."""
    import imageio.v3 as iio

    episodes = load_episodes(demos)  # 7, 5 and 9 frames

    def grey(i: int, height: int = 32) -> np.ndarray:
        return np.full((len(episodes[i]), height, 48, 3), 60 + 40 * i, np.uint8)

    report = export_lerobot(episodes, tmp_path / "ok", camera=Camera("top", grey))
    assert report.videos == 3 and "and 3 videos" in str(report)
    info = json.loads((tmp_path / "ok/meta/info.json").read_text())
    assert info["features"]["observation.images.top"]["shape"] == [32, 48, 3]
    frames = iio.imread(tmp_path / "ok/videos/chunk-000/observation.images.top/episode_000002.mp4")
    assert frames.shape == (9, 32, 48, 3) and abs(float(frames.mean()) - 140) < 2
    shrinking = Camera("top", lambda i: grey(i, height=32 - 16 * i))
    with pytest.raises(DataError, match=r"episode 1: video \[16, 48, 3\] h264, unlike episode 0"):
        export_lerobot(episodes, tmp_path / "sizes", camera=shrinking)
    short = Camera("top", lambda i: grey(i)[1:])
    with pytest.raises(DataError, match=r"episode 0: camera 'top' gave frames uint8 \(6, 32"):
        export_lerobot(episodes, tmp_path / "short", camera=short)
    assert not (tmp_path / "sizes").exists() and not (tmp_path / "short").exists()
