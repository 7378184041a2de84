"""Trainer: determinism (resume, DDP vs grad accumulation), guards, checkpoints, schedule, EMA.

The two multi-process jobs (torchrun DDP, SIGTERM) start before the module's first test, so their
start-up overlaps the in-process tests.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from polydit.core.config import from_dict, to_dict
from polydit.core.errors import (
    CheckpointError,
    ConfigError,
    TrainingDiverged,
    TrainingInterrupted,
)
from polydit.core.train import EMA, TrainConfig, ema_decay_at, load_checkpoint, lr_at
from polydit.core.train.checkpoint import save_checkpoint
from polydit.core.train.data import IndexStream

SCRIPT = Path(__file__).with_name("train_script.py")
_spec = importlib.util.spec_from_file_location("polydit_train_script", SCRIPT)
assert _spec is not None and _spec.loader is not None
ts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ts)

SIGTERM_STEPS = 60


# --------------------------------------------------------------------------------- helpers


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/core/conftest.py


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _ckpt_names(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "checkpoints").iterdir())


def _assert_same_state(a: dict, b: dict) -> None:
    for key in ("model", "ema"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name} differs"
    for i, s in a["optimizer"]["state"].items():
        for k, v in s.items():
            assert torch.equal(v, b["optimizer"]["state"][i][k]), f"optimizer state {i}.{k}"


def _final(out: Path) -> dict:
    return load_checkpoint(sorted((out / "checkpoints").glob("step_*.pt"))[-1])


# ----------------------------------------------------------------------- subprocess jobs


@pytest.fixture(scope="module")
def ddp_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen, Path]]:
    """torchrun, 2 gloo processes, grad_accum=1, global batch 8."""
    out = tmp_path_factory.mktemp("ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.Popen(
        [*cmd, str(SCRIPT), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _sigterm_child(out: Path) -> None:
    """Body of the forked SIGTERM job: slow steps; exit 3 on TrainingInterrupted."""
    torch.set_num_threads(1)
    ts.SLEEP = 0.05
    try:
        ts.make_trainer(out, steps=SIGTERM_STEPS, checkpoint_every=1000).fit()
    except TrainingInterrupted as e:
        (out / "interrupted.txt").write_text(str(e))
        sys.exit(3)


@pytest.fixture(scope="module")
def sigterm_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A child process (forked: no second torch start-up) training SIGTERM_STEPS slow steps,
    sent a real SIGTERM by a watcher thread as soon as it has logged step 3."""
    out = tmp_path_factory.mktemp("sigterm")
    import torch._dynamo  # noqa: F401 - the optimizer's lazy import, done once before forking

    proc = multiprocessing.get_context("fork").Process(target=_sigterm_child, args=(out,))
    proc.start()
    job: dict = {"proc": proc, "out": out, "signalled": False}

    def watch() -> None:
        deadline = time.monotonic() + 120
        while proc.is_alive() and time.monotonic() < deadline:
            metrics = out / "metrics.jsonl"
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
                os.kill(proc.pid, signal.SIGTERM)
                job["signalled"] = True
                return
            time.sleep(0.02)

    job["watcher"] = threading.Thread(target=watch, daemon=True)
    job["watcher"].start()
    yield job
    if proc.is_alive():
        proc.kill()
        proc.join()


@pytest.fixture(scope="module", autouse=True)
def _start_jobs_early(request: pytest.FixtureRequest) -> None:
    for name in ("ddp_job", "sigterm_job"):
        if any(name in getattr(item, "fixturenames", ()) for item in request.session.items):
            request.getfixturevalue(name)


# ----------------------------------------------------------------------------- config


def test_config_json_roundtrip() -> None:
    cfg = TrainConfig(steps=7, betas=(0.8, 0.95), grad_clip=None, dtype="bf16")
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(cfg)))) == cfg


@pytest.mark.parametrize(
    ("field", "value"),
    [("schedule", "linear"), ("dtype", "fp16"), ("grad_accum", 0), ("betas", (0.9, 1.0))],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"TrainConfig\.{field}"):
        TrainConfig(**{field: value})


def test_batch_size_must_divide_into_micro_batches(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"batch_size.*grad_accum \(3\)"):
        ts.make_trainer(tmp_path, batch_size=8, grad_accum=3)


# ------------------------------------------------------------------ schedule, EMA, data


def test_lr_schedule_known_values() -> None:
    cfg = TrainConfig(steps=11, lr=1.0, warmup_steps=2, min_lr_ratio=0.1)
    expected = {1: 0.5, 2: 1.0, 3: 1.0, 7: 0.55, 11: 0.1}
    for step, lr in expected.items():
        assert lr_at(step, cfg) == pytest.approx(lr, abs=1e-12), step
    constant = TrainConfig(steps=11, lr=1.0, warmup_steps=2, schedule="constant")
    assert [lr_at(s, constant) for s in (1, 2, 3, 11)] == [0.5, 1.0, 1.0, 1.0]


def test_trainer_applies_schedule(tmp_path: Path) -> None:
    trainer = ts.make_trainer(tmp_path, min_lr_ratio=0.1)
    trainer.fit()
    assert [m["lr"] for m in _metrics(tmp_path)] == [lr_at(s, trainer.config) for s in range(1, 13)]


def test_ema_known_update() -> None:
    model = torch.nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0], [2.0]]))
    ema = EMA(model)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[3.0], [4.0]]))
    ema.update(model, decay=0.75)
    assert torch.equal(ema.module.weight, torch.tensor([[1.5], [2.5]]))
    assert not ema.module.weight.requires_grad
    assert ema_decay_at(1, 0.9999, warmup=True) == pytest.approx(2 / 11)
    assert ema_decay_at(10**6, 0.9999, warmup=True) == 0.9999
    assert ema_decay_at(1, 0.9999, warmup=False) == 0.9999


def test_trainer_ema_is_average_of_one_step(tmp_path: Path) -> None:
    trainer = ts.make_trainer(tmp_path, steps=1, ema_decay=0.5, ema_warmup=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    after = trainer.model.state_dict()
    for k, v in trainer.ema_model.state_dict().items():
        torch.testing.assert_close(v, 0.5 * before[k] + 0.5 * after[k], rtol=0, atol=1e-7)
        assert not torch.equal(v, after[k])


def test_global_batch_independent_of_micro_batch_split() -> None:
    stream = IndexStream(n=10, seed=5)
    for step in (1, 2, 3, 7):  # batch 8 over 10 samples: steps cross epoch boundaries
        splits = [
            torch.cat([stream.micro_batch(step, j, 8, m) for j in range(m)]) for m in (1, 2, 4, 8)
        ]
        assert all(torch.equal(s, splits[0]) for s in splits)
    epoch = stream.indices(10, 10)  # positions of epoch 1: a permutation, not epoch 0's
    assert sorted(epoch.tolist()) == list(range(10))
    assert not torch.equal(epoch, stream.indices(0, 10))
    assert not torch.equal(IndexStream(10, seed=6).indices(0, 10), stream.indices(0, 10))


def test_item_fetch_and_collate_equals_batch_fast_path(tmp_path: Path) -> None:
    ts.make_trainer(tmp_path / "fast").fit()
    ts.make_trainer(tmp_path / "items", dataset=ts.ItemsOnly(ts.Regression())).fit()
    _assert_same_state(_final(tmp_path / "fast"), _final(tmp_path / "items"))


# --------------------------------------------------------------- checkpoints and resume


def test_checkpoints_atomic_rotated_and_loadable(tmp_path: Path) -> None:
    result = ts.make_trainer(tmp_path, steps=12, checkpoint_every=3, keep_checkpoints=2).fit()
    assert _ckpt_names(tmp_path) == ["step_00000009.pt", "step_00000012.pt"]
    assert result.checkpoint == tmp_path / "checkpoints" / "step_00000012.pt"
    assert result.step == 12 and math.isfinite(result.loss)
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["step"] == 12 and from_dict(TrainConfig, state["config"]).checkpoint_every == 3
    assert state["loss"] == result.loss
    # a writer that dies mid-file leaves neither a temp file nor a target
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises
        save_checkpoint(tmp_path / "checkpoints" / "broken.pt", {"x": lambda: 0})
    assert _ckpt_names(tmp_path) == ["step_00000009.pt", "step_00000012.pt"]


def test_resume_from_checkpoint_is_exact(tmp_path: Path) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    ts.make_trainer(full).fit()  # steps 12, checkpoints at 5, 10, 12
    (part / "checkpoints").mkdir(parents=True)
    shutil.copy(full / "checkpoints" / "step_00000005.pt", part / "checkpoints")
    # metrics of a run that died at step 7, after its step-5 checkpoint; a crash-cut last line
    lines = (full / "metrics.jsonl").read_text().splitlines(keepends=True)
    (part / "metrics.jsonl").write_text("".join(lines[:7]) + '{"step": 8, "lo')
    (part / "checkpoints" / ".tmp-crashed").write_bytes(b"half a checkpoint")
    resumed = ts.make_trainer(part)
    assert resumed.fit(resume=True).step == 12
    _assert_same_state(_final(full), _final(part))
    assert _ckpt_names(part) == ["step_00000005.pt", "step_00000010.pt", "step_00000012.pt"]
    drop = ("steps_per_s", "elapsed_s")
    strip = [{k: v for k, v in m.items() if k not in drop} for m in _metrics(part)]
    assert strip == [{k: v for k, v in m.items() if k not in drop} for m in _metrics(full)]
    # resuming a finished run does nothing
    assert ts.make_trainer(part).fit(resume=True).step == 12


def test_resume_guards(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="polydit.core.train"):
        assert ts.make_trainer(tmp_path, steps=5).fit(resume=True).step == 5
    assert "starting from scratch" in caplog.text
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        ts.make_trainer(tmp_path, steps=8).fit()
    with pytest.raises(CheckpointError, match=r"TrainConfig\.batch_size is 8 in the checkpoint"):
        ts.make_trainer(tmp_path, steps=8, batch_size=16).fit(resume=True)
    newest = tmp_path / "checkpoints" / "step_00000005.pt"
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"step_00000005\.pt"):
        ts.make_trainer(tmp_path, steps=8).fit(resume=True)


def test_sigterm_checkpoints_and_resumes_exactly(tmp_path: Path, sigterm_job: dict) -> None:
    proc, out = sigterm_job["proc"], sigterm_job["out"]
    proc.join(timeout=120)
    sigterm_job["watcher"].join()
    assert sigterm_job["signalled"]
    assert proc.exitcode == 3  # TrainingInterrupted
    assert "stopped by SIGTERM" in (out / "interrupted.txt").read_text()
    (name,) = _ckpt_names(out)  # checkpoint_every=1000: only the interrupt wrote one
    stopped = load_checkpoint(out / "checkpoints" / name)["step"]
    assert 3 <= stopped < SIGTERM_STEPS
    ts.make_trainer(out, steps=SIGTERM_STEPS, checkpoint_every=1000).fit(resume=True)
    ts.make_trainer(tmp_path, steps=SIGTERM_STEPS, checkpoint_every=1000).fit()
    _assert_same_state(_final(tmp_path), _final(out))


def test_signal_handlers_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    ts.make_trainer(tmp_path, steps=2).fit()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


# ------------------------------------------------------------------------- NaN guard


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_guard_keeps_last_good_checkpoint(tmp_path: Path, bad: float) -> None:
    calls = 0

    def poisoned(model: torch.nn.Module, batch: dict, g: torch.Generator) -> dict:
        nonlocal calls
        calls += 1
        out = ts.loss_fn(model, batch, g)
        return out | {"loss": out["loss"] * bad} if calls == 7 else out

    trainer = ts.make_trainer(tmp_path)
    trainer.loss_fn = poisoned
    with pytest.raises(TrainingDiverged, match=r"step 7\b.*step_00000005\.pt"):
        trainer.fit()
    assert _ckpt_names(tmp_path) == ["step_00000005.pt"]
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000005.pt")["step"] == 5
    assert trainer.step == 6
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert all(torch.isfinite(p).all() for p in trainer.ema_model.parameters())


# ----------------------------------------------------------------- metrics and precision


def test_metrics_jsonl(tmp_path: Path) -> None:
    ts.make_trainer(tmp_path, steps=7, log_every=3).fit()
    rows = _metrics(tmp_path)
    assert [r["step"] for r in rows] == [3, 6, 7]
    for r in rows:
        assert {"loss", "lr", "grad_norm", "steps_per_s", "drop_rate"} <= r.keys()
        assert r["grad_norm"] > 0 and r["steps_per_s"] > 0 and 0 <= r["drop_rate"] <= 1
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # at the end


def test_bf16_autocast(tmp_path: Path) -> None:
    fp32 = ts.make_trainer(tmp_path / "fp32", steps=3).fit()
    bf16 = ts.make_trainer(tmp_path / "bf16", steps=3, dtype="bf16").fit()
    assert math.isfinite(bf16.loss) and bf16.loss != fp32.loss
    assert bf16.loss == pytest.approx(fp32.loss, rel=0.1)


# ------------------------------------------------------------------------------- DDP


def test_ddp_two_processes_match_grad_accum(tmp_path: Path, ddp_job: tuple) -> None:
    """2 gloo ranks x grad_accum 1 vs 1 process x grad_accum 2: same global batches and
    generators, identical summation order → losses within rtol 1e-6, weights within 1e-6."""
    proc, out = ddp_job
    log_text = proc.communicate(timeout=180)[0]
    assert proc.returncode == 0, log_text
    ts.make_trainer(tmp_path, grad_accum=2).fit()
    ddp, single = _metrics(out), _metrics(tmp_path)
    assert [m["step"] for m in ddp] == list(range(1, 13))  # rank 0 alone wrote the log
    for a, b in zip(ddp, single, strict=True):
        for key in ("loss", "drop_rate", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=0), (a["step"], key)
    ddp_state, single_state = _final(out), _final(tmp_path)
    assert ddp_state["micro_batches"] == single_state["micro_batches"] == 2
    for key in ("model", "ema"):
        for name, value in single_state[key].items():
            torch.testing.assert_close(ddp_state[key][name], value, rtol=0, atol=1e-6)
    assert not any(p.name.startswith(".tmp") for p in (out / "checkpoints").iterdir())
    assert os.environ.get("WORLD_SIZE") is None  # the test process itself stayed single


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(tmp_path: Path) -> None:
    flat = {"schedule": "constant"}  # a cosine schedule would depend on the total
    ts.make_trainer(tmp_path / "a", steps=10, **flat).fit()  # checkpoints at 5 and 10
    newest = tmp_path / "a" / "checkpoints" / "step_00000010.pt"
    newest.write_bytes(newest.read_bytes()[:100])
    ts.make_trainer(tmp_path / "a", steps=12, **flat).fit(resume=True)  # from step 5
    ts.make_trainer(tmp_path / "b", steps=12, **flat).fit()
    _assert_same_state(_final(tmp_path / "a"), _final(tmp_path / "b"))
    for path in (tmp_path / "a" / "checkpoints").glob("step_*.pt"):
        path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no readable checkpoint"):
        ts.make_trainer(tmp_path / "a", steps=14, **flat).fit(resume=True)
