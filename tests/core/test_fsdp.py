"""FSDP (`TrainConfig.parallel="fsdp"`, FSDP2 `fully_shard`) on 2 gloo CPU processes.

One job of 2 forked ranks (started by the module fixture after the one-process reference run
it resumes from) trains a 2-block DiT; the tests compare it with one process at the same global
batch and micro-batches, with its own resume, and resume its checkpoint in one process.
Tolerance: FSDP reduce-scatters (sums over ranks) where one process accumulates micro-batches
in order, so losses agree to rtol 1e-6 and weights to atol 1e-6 (observed: ~1e-7); a resume
under the same layout is bit-exact.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from polydit.core.config import from_dict, to_dict
from polydit.core.errors import ConfigError
from polydit.core.train import TrainConfig, load_checkpoint

SCRIPT = Path(__file__).with_name("fsdp_script.py")
_spec = importlib.util.spec_from_file_location("polydit_fsdp_script", SCRIPT)
assert _spec is not None and _spec.loader is not None
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)

ONE_PROCESS = {"grad_accum": 4}  # the 4 micro-batches of 2 ranks x grad_accum 2


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/core/conftest.py


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The one-process reference run, then the 2-rank job of fsdp_script.rank_main, finished."""
    single, out = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("fsdp")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    fs.make_trainer(single, **ONE_PROCESS).fit()
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fork = multiprocessing.get_context("fork")
    ranks = [fork.Process(target=fs.rank_main, args=(r, 2, port, out, single)) for r in (0, 1)]
    for rank in ranks:
        rank.start()
    for rank in ranks:
        rank.join(timeout=240)
    torch.set_num_threads(before)
    assert [rank.exitcode for rank in ranks] == [0, 0]  # a traceback is on stderr
    names = ("fsdp", "resumed", "from_single", "unused")
    yield {"single": single, **{name: out / name for name in names}}


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _final(run: Path) -> dict:
    return load_checkpoint(sorted((run / "checkpoints").glob("step_*.pt"))[-1])


def _assert_close_states(a: dict, b: dict, atol: float) -> None:
    """Same model, EMA and optimizer state (same keys, same format) up to `atol`."""
    for key in ("model", "ema"):
        assert a[key].keys() == b[key].keys()
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, rtol=0, atol=atol, msg=name)
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for i, state in a["optimizer"]["state"].items():
        for k, value in state.items():
            torch.testing.assert_close(b["optimizer"]["state"][i][k], value, rtol=0, atol=atol)


def test_parallel_is_validated_and_round_trips() -> None:
    config = TrainConfig(parallel="fsdp")
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(config)))) == config
    assert TrainConfig().parallel == "ddp"
    with pytest.raises(ConfigError, match=r"TrainConfig\.parallel: expected one of ddp, fsdp"):
        TrainConfig(parallel="zero3")


def test_fsdp_matches_one_process_at_the_same_global_batch(runs: dict[str, Path]) -> None:
    fsdp, single = _metrics(runs["fsdp"]), _metrics(runs["single"])
    assert [m["step"] for m in fsdp] == list(range(1, fs.STEPS + 1))  # rank 0 alone wrote
    for a, b in zip(fsdp, single, strict=True):
        for key in ("loss", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=0), (a["step"], key)
    final = _final(runs["fsdp"])
    assert final["micro_batches"] == 4 and final["config"]["parallel"] == "fsdp"
    _assert_close_states(_final(runs["single"]), final, atol=1e-6)  # the one-process format
    assert not any(p.name.startswith(".tmp") for p in (runs["fsdp"] / "checkpoints").iterdir())


def test_the_model_was_sharded_over_the_two_ranks(runs: dict[str, Path]) -> None:
    shards = json.loads((runs["fsdp"].parent / "shards.json").read_text())
    assert sum(shards["local"]) == shards["total"]
    assert all(0 < n < shards["total"] for n in shards["local"])


def test_a_killed_fsdp_run_resumes_to_the_same_final_weights(runs: dict[str, Path]) -> None:
    resumed = _metrics(runs["resumed"])
    assert [m["step"] for m in resumed] == list(range(fs.KILLED + 1, fs.STEPS + 1))
    for a, b in zip(_metrics(runs["fsdp"])[fs.KILLED :], resumed, strict=True):
        assert [a[k] for k in ("loss", "grad_norm", "lr")] == [
            b[k] for k in ("loss", "grad_norm", "lr")
        ]
    _assert_close_states(_final(runs["fsdp"]), _final(runs["resumed"]), atol=0)


def test_an_fsdp_checkpoint_resumes_in_one_process(runs: dict[str, Path], tmp_path: Path) -> None:
    fs.copy_killed(runs["fsdp"], tmp_path)
    fs.make_trainer(tmp_path, parallel="fsdp", **ONE_PROCESS).fit(resume=True)
    _assert_close_states(_final(runs["single"]), _final(tmp_path), atol=1e-6)
    _assert_close_states(_final(runs["fsdp"]), _final(tmp_path), atol=1e-6)


def test_a_one_process_checkpoint_resumes_under_fsdp(runs: dict[str, Path]) -> None:
    _assert_close_states(_final(runs["single"]), _final(runs["from_single"]), atol=1e-6)


def test_a_parameter_unused_on_one_rank_is_reduced_like_ddp(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """TinyNet's `null` is used only by micro-batches that drop a row. Without the zero
    dependency FSDP2's reduce-scatter mismatches across ranks (gloo aborts); with it, FSDP
    equals one process up to a step in which no micro-batch used `null` (drop_rate 0); after
    it FSDP's zero gradient still moves `null` by AdamW's momentum, one process leaves it
    alone (see distributed.FullyShard)."""
    fs.train_script.make_trainer(tmp_path, grad_accum=2).fit()
    fsdp, single = _metrics(runs["unused"]), _metrics(tmp_path)
    assert [m["step"] for m in fsdp] == [m["step"] for m in single] == list(range(1, 13))
    unused = next(m["step"] for m in single if m["drop_rate"] == 0)  # step 5 with seed 3
    assert 1 < unused < 12
    for a, b in zip(fsdp[:unused], single[:unused], strict=True):
        for key in ("loss", "drop_rate", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=0), (a["step"], key)
