"""The polydit-policy CLI end to end: collect, data show, eval of the shipped model, errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from polydit.policy.cli import DOMAIN, app
from polydit.policy.env import RenderingUnavailable, make_env

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_collect_keeps_successful_episodes_and_data_show_reads_them(tmp_path: Path) -> None:
    out = tmp_path / "demos"
    result = invoke("collect", "--task", "reach-v3", "--episodes", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert "reach-v3: kept 2 of 2 episodes" in result.output
    assert sorted(p.name for p in (out / "reach-v3").iterdir()) == [
        "seed_00000.npz",
        "seed_00001.npz",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tasks"]["reach-v3"]["seeds"] == [0, 1]
    shown = invoke("data", "show", "--data", out)
    assert shown.exit_code == 0 and "reach-v3: 2 episodes, 2 successful" in shown.output


def test_bad_task_and_corrupt_file_give_one_line_errors(tmp_path: Path) -> None:
    result = invoke("collect", "--task", "push-v9", "--episodes", "1", "--out", tmp_path)
    assert result.exit_code == 1
    assert "unknown task 'push-v9'; valid tasks:" in result.output
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04broken")
    result = invoke("data", "show", "--data", tmp_path)
    assert result.exit_code == 1
    assert "bad.npz: corrupt or truncated episode file" in result.output


@pytest.mark.skipif(not DOMAIN.shipped_models(), reason="no shipped model")
def test_eval_of_the_shipped_model_runs(tmp_path: Path) -> None:
    result = invoke(
        "eval",
        "--task",
        "reach-v3",
        "--episodes",
        "2",
        "--num-envs",
        "2",
        "--seed",
        "1000",
        "--json",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output.strip().splitlines()[-1])
    assert 0.0 <= metrics["success_rate"] <= 1.0
    assert 0 < metrics["mean_episode_length"] <= 500
    assert metrics["latency_ms_per_chunk"] > 0
    result = invoke("eval", "--task", "reach-v3", "--episodes", "2", "--seed", "5")
    assert result.exit_code == 1 and "disjoint from the demonstration seeds" in result.output


def test_rendering_failure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env("reach-v3", render_size=(48, 64))

    def broken() -> None:
        raise RuntimeError("an OpenGL platform library has not been loaded")

    monkeypatch.setattr(env._env, "render", broken)
    with pytest.raises(RenderingUnavailable, match="libosmesa6"):
        env.render()


def test_render_a_frame_if_rendering_is_available() -> None:
    env = make_env("reach-v3", render_size=(48, 64))
    env.reset(seed=1000)
    try:
        frame = env.render()
    except RenderingUnavailable as e:
        pytest.skip(str(e))
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 0


@pytest.mark.skipif(not DOMAIN.shipped_models(), reason="no shipped model")
def test_the_shipped_dit_solves_the_precise_tasks() -> None:
    """The shipped weights, not just the plumbing: reach, push and pick-place (the tasks the
    first under-trained model failed most) on three held-out seeds each."""
    from polydit.policy.metrics import evaluate_policy
    from polydit.policy.pipeline import PolicyGenerator

    policy = PolicyGenerator.from_pretrained(DOMAIN.pretrained_root / "mt10-dit")
    tasks = ("reach-v3", "push-v3", "pick-place-v3")
    metrics, _ = evaluate_policy(policy, tasks, [1000, 1001, 1002], num_envs=3, latency_calls=1)
    assert metrics["success_rate"] >= 8 / 9, metrics


@pytest.mark.skipif(not DOMAIN.shipped_models(), reason="no shipped model")
def test_sample_records_capped_episodes(tmp_path: Path) -> None:
    from polydit.policy.io import load_episode

    result = invoke("sample", "--num", "1", "--seed", "1000", "--max-steps", "5", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    (record,) = json.loads((tmp_path / "samples.json").read_text())
    assert record["length"] == 5 and record["conditioning"] == {"task": "button-press-topdown-v3"}
    episode = load_episode(tmp_path / record["file"])
    assert len(episode) == 5 and episode.seed == 1000 and episode.observations.shape == (5, 39)
