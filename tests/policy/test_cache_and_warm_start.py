"""Issue-8 wiring (--cache reaches every generate call of eval/rollout) and `train --init-from`."""

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from polydit.core.errors import ConfigError
from polydit.core.train import RunOptions, fit
from polydit.policy.cli import DOMAIN, app
from polydit.policy.pipeline import PolicyGenerator
from polydit.policy.train import RECIPE, PolicyTrainSpec, adopt_donor

runner = CliRunner()
SHIPPED = DOMAIN.pretrained_root / "mt10-dit"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="no shipped model")
def test_fora_with_interval_1_reproduces_uncached_chunks() -> None:
    gen = PolicyGenerator.from_pretrained(SHIPPED)
    hist = np.random.default_rng(0).uniform(-0.3, 0.3, (3, gen.codec.n_obs, 39))
    plain = gen.predict(hist, "push-v3", seed=5)
    same = gen.predict(hist, "push-v3", seed=5, cache="fora", cache_opts={"interval": "1"})
    cached = gen.predict(hist, "push-v3", seed=5, cache="fora", cache_opts={"interval": "3"})
    np.testing.assert_allclose(same, plain, atol=1e-5)
    assert gen.last_usage is not None and gen.last_usage.fraction < 1.0
    assert not np.allclose(cached, plain, atol=1e-5)  # the cache really acted


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="no shipped model")
def test_eval_cli_passes_the_cache_options() -> None:
    base = ["eval", "--task", "reach-v3", "--episodes", "1", "--num-envs", "1", "--seed", "1000"]
    base += ["--json"]
    runs = {
        name: invoke(*base, *extra)
        for name, extra in (
            ("none", []),
            ("interval1", ["--cache", "fora", "--cache-opts", "interval=1"]),
            ("fora", ["--cache", "fora"]),
        )
    }
    for result in runs.values():
        assert result.exit_code == 0, result.output
    metrics = {k: json.loads(r.output.strip().splitlines()[-1]) for k, r in runs.items()}
    for key in ("success_rate", "mean_episode_length"):
        assert metrics["interval1"][key] == metrics["none"][key]
    assert metrics["fora"]["latency_ms_per_chunk"] > 0
    bad = invoke(*base, "--cache", "fora", "--cache-opts", "nonsense=1")
    assert bad.exit_code == 1 and "not an option of fora" in bad.output


def _tiny_config(tmp_path: Path, hidden: int) -> Path:
    path = tmp_path / f"tiny{hidden}.json"
    config = {
        "horizon": 4,
        "n_obs": 2,
        "n_action_steps": 2,
        "hidden": hidden,
        "depth": 1,
        "heads": 2,
        "train": {"steps": 3, "batch_size": 8, "checkpoint_every": 3},
    }
    path.write_text(json.dumps(config))
    return path


def test_init_from_loads_the_weights_and_refuses_other_architectures(tmp_path: Path) -> None:
    data = tmp_path / "demos"
    assert invoke("collect", "--task", "reach-v3", "--episodes", "2", "--out", data).exit_code == 0
    first = invoke(
        "train", "--data", data, "--config", _tiny_config(tmp_path, 16), "--out", tmp_path / "a"
    )
    assert first.exit_code == 0, first.output
    source = tmp_path / "a" / "model"
    # zero further steps: the EMA (the shipped weights) is exactly the warm start
    spec = PolicyTrainSpec().merged(json.loads(_tiny_config(tmp_path, 16).read_text()))
    spec = spec.replace(train=spec.train.replace(steps=0))
    options = RunOptions(tmp_path / "b", init_from=source, progress=False)
    fit(RECIPE, spec, RECIPE.data(spec, str(data), {}), options)
    before = load_file(source / "model.safetensors")
    after = load_file(tmp_path / "b" / "model" / "model.safetensors")
    assert before.keys() == after.keys()
    for key in before:
        assert (before[key] == after[key]).all(), key
    metrics = json.loads((tmp_path / "b" / "model" / "metrics.json").read_text())
    assert metrics["training"]["init_from"] == str(source)
    wrong = invoke(
        "train",
        "--data",
        data,
        "--config",
        _tiny_config(tmp_path, 32),
        "--out",
        tmp_path / "c",
        "--init-from",
        source,
    )
    assert (
        wrong.exit_code == 1
        and "its architecture differs in hidden (16 there, 32 here)" in wrong.output
    )


def test_init_from_adopts_the_donors_normalisation(tmp_path: Path) -> None:
    """The warm start keeps the donor's stats (its weights expect them), this run's k and the
    largest demo seed of both; a donor of other tasks is refused."""
    data = tmp_path / "demos"
    assert invoke("collect", "--task", "reach-v3", "--episodes", "3", "--out", data).exit_code == 0
    spec = PolicyTrainSpec().merged(json.loads(_tiny_config(tmp_path, 16).read_text()))
    whole = RECIPE.data(spec, str(data), {}).dataset
    donor = RECIPE.build(spec, whole, 0)
    run = RECIPE.build(spec, whole, 1)
    stretched = tuple(v + 1 for v in run.codec.act_max)
    run.codec = run.codec.replace(n_action_steps=1, act_max=stretched, demo_seed_max=7)
    adopted = adopt_donor(run, donor, "donor")
    assert adopted.codec == donor.codec.replace(n_action_steps=1, demo_seed_max=7)
    for a, b in zip(adopted.model.parameters(), donor.model.parameters(), strict=True):
        assert a.equal(b)
    run.codec = run.codec.replace(tasks=("push-v3",))
    with pytest.raises(ConfigError, match="codec tasks"):
        adopt_donor(run, donor, "donor")
