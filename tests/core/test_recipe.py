"""`fit` and the run folder, on the tiny example domain (tests/example_domain)."""

import json
from pathlib import Path

import pytest
import torch
from example_domain.ring import RECIPE, PointCodec, RingGenerator, RingTrainSpec, ring_distance

from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.train import RunOptions, TrainConfig, export, fit, from_run, read_run


def spec(steps: int = 30, **changes) -> RingTrainSpec:
    train = TrainConfig(steps=steps, batch_size=16, lr=2e-3, warmup_steps=0, checkpoint_every=10)
    return RingTrainSpec(train=train).replace(**changes)


def run(s: RingTrainSpec, out: Path, **opts) -> RingGenerator:
    data = RECIPE.data(s, None, {})
    return fit(RECIPE, s, data, RunOptions(out=out, progress=False, **opts)).pipeline


def weights(directory: Path) -> bytes:
    return (directory / "model.safetensors").read_bytes()


def test_spec_overrides_apply_only_what_is_given() -> None:
    s = spec(steps=7).overridden(seed=3, dtype="bf16")
    assert (s.train.steps, s.train.seed, s.train.dtype, s.train.lr) == (7, 3, "bf16", 2e-3)
    assert spec(steps=7).overridden() == spec(steps=7)


def test_fit_writes_the_run_folder_and_the_ema_model(tmp_path: Path) -> None:
    pipe = run(spec(), tmp_path)
    record = read_run(tmp_path)
    assert record["recipe"] == "ring" and record["data"] == "ring"
    assert record["result"]["step"] == 30
    assert RingTrainSpec.from_dict(record["spec"]) == spec()
    saved = RingGenerator.from_pretrained(tmp_path / "model")
    assert saved.codec == PointCodec() and saved.to_config() == pipe.to_config()
    newest = from_run(RingGenerator, tmp_path)  # the EMA of the last checkpoint = the model
    for name, value in newest.model.state_dict().items():
        assert torch.equal(value, saved.model.state_dict()[name]), name
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["training"]["result"]["step"] == 30


def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path: Path) -> None:
    def constant(steps: int) -> RingTrainSpec:  # a cosine schedule would depend on the total
        s = spec(steps)
        return s.replace(train=s.train.replace(schedule="constant"))

    run(constant(20), tmp_path / "a")
    run(constant(30), tmp_path / "a", resume=True)  # rebuilt from run.json, then the checkpoint
    run(constant(30), tmp_path / "b")
    assert weights(tmp_path / "a" / "model") == weights(tmp_path / "b" / "model")


def test_resume_refuses_other_settings_and_names_them(tmp_path: Path) -> None:
    run(spec(steps=10), tmp_path)
    with pytest.raises(ConfigError, match=r"hidden 32 → 16.*only --steps"):
        run(spec(steps=20, hidden=16), tmp_path, resume=True)


def test_a_run_resumes_in_another_precision_and_auto_takes_the_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Precision is the machine's choice: a bf16 run resumes under --dtype fp32 (e.g. on a CPU
    without native bf16) and on; "auto" autocasts in bf16 exactly where resolve_dtype says so."""
    from polydit.core.precision_choice import resolve_dtype
    from polydit.core.train import trainer

    started = []
    original = trainer.Trainer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        started.append(self.dtype)

    monkeypatch.setattr(trainer.Trainer, "__init__", spy)
    run(spec(steps=10).overridden(dtype="bf16"), tmp_path)
    run(spec(steps=20).overridden(dtype="fp32"), tmp_path, resume=True)
    run(spec(steps=30).overridden(dtype="auto"), tmp_path, resume=True)
    assert started == ["bf16", "fp32", resolve_dtype("auto", "cpu")]
    assert read_run(tmp_path)["result"]["step"] == 30


def test_warm_start_copies_weights_and_checks_the_codec(tmp_path: Path) -> None:
    donor = run(spec(steps=10), tmp_path / "donor")
    warm = run(spec(steps=0), tmp_path / "warm", init_from=tmp_path / "donor" / "model")
    for name, value in donor.model.state_dict().items():
        assert torch.equal(value, warm.model.state_dict()[name]), name
    assert read_run(tmp_path / "warm")["init_from"] == str(tmp_path / "donor" / "model")
    other = spec(steps=0, codec=PointCodec(points=4))
    with pytest.raises(ConfigError, match=r"--init-from .*codec differs .*points 8 → 4\)$"):
        run(other, tmp_path / "bad", init_from=tmp_path / "donor" / "model")


def test_export_ships_a_checkpoint_with_new_sampling_defaults(tmp_path: Path) -> None:
    run(spec(steps=20), tmp_path / "run")
    exported = export(RingGenerator, tmp_path / "run", tmp_path / "out", 10, steps=3)
    loaded = RingGenerator.from_pretrained(exported)
    assert loaded.sampling.steps == 3
    at_10 = from_run(RingGenerator, tmp_path / "run", 10)
    for name, value in at_10.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[name]), name
    with pytest.raises(CheckpointError, match=r"no checkpoint at step 7 \(have 10, 20\)"):
        from_run(RingGenerator, tmp_path / "run", 7)
    with pytest.raises(CheckpointError, match=r"run\.json: missing"):
        from_run(RingGenerator, tmp_path / "out")


def test_the_trained_example_beats_its_noise_on_the_ring(tmp_path: Path) -> None:
    pipe = run(spec(steps=200), tmp_path)
    noise = torch.randn(256, 8, 2, generator=torch.Generator().manual_seed(0)).numpy()
    assert ring_distance(pipe.sample(256, seed=0)) < 0.5 * ring_distance(noise)


def test_train_flags_left_out_keep_the_configs_seed_and_dtype(tmp_path: Path) -> None:
    from example_domain.cli import RingDomain
    from typer.testing import CliRunner

    from polydit.core.cli import make_cli

    app = make_cli(RingDomain(tmp_path / "pretrained"))

    def invoke(*args: object):
        return CliRunner().invoke(app, [str(a) for a in args])

    config = tmp_path / "c.json"
    config.write_text(json.dumps({"train": {"steps": 2, "seed": 3, "dtype": "bf16"}}))
    result = invoke("train", "--config", config, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    train = read_run(tmp_path / "a")["spec"]["train"]
    assert (train["seed"], train["dtype"]) == (3, "bf16")
    flags = ("--seed", "1", "--dtype", "fp32")
    result = invoke("train", "--config", config, "--out", tmp_path / "b", *flags)
    assert result.exit_code == 0, result.output
    train = read_run(tmp_path / "b")["spec"]["train"]
    assert (train["seed"], train["dtype"]) == (1, "fp32")


def test_torchrun_train_exits_0_and_rank_0_alone_writes_the_model(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(tests), "OMP_NUM_THREADS": "1"}
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    out = tmp_path / "run"
    job = subprocess.run(
        [*launch, "-m", "example_domain.cli", "train", "--steps", "4", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert job.returncode == 0, job.stdout + job.stderr
    assert read_run(out)["result"]["step"] == 4
    assert RingGenerator.from_pretrained(out / "model").codec == PointCodec()
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoints",
        "curves.png",
        "metrics.jsonl",
        "model",
        "run.json",
    ]
