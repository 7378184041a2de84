"""What every domain must do, checked on every installed domain (the ``polydit.domains`` entry
points) and on the tiny example domain (tests/example_domain) with a model it trains here.

A new domain joins by being installed. Sampling runs with ``--steps 2``: these are contracts
(determinism, per-sample seeding, persistence, error policy), not quality checks.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polydit.core.cli import Domain, make_cli

TESTS = Path(__file__).resolve().parent
FAST = ("--steps", "2")
#: per-domain extra sample flags for these checks: a policy sample is a closed-loop rollout per
#: seed, so it runs with a 50-step episode cap instead of the task's 500
SAMPLE_FLAGS: dict[str, tuple[str, ...]] = {"policy": ("--max-steps", "50")}


@dataclass(frozen=True)
class Case:
    """A domain under test: its Domain, its CLI and the module that builds the CLI."""

    domain: Domain
    app: Any
    module: str
    env: dict[str, str]

    @property
    def default_model(self) -> Path:
        return Path(self.domain.pretrained_root) / self.domain.default_model

    def sample_flags(self) -> tuple[str, ...]:
        return FAST + SAMPLE_FLAGS.get(self.domain.name, ())


def installed() -> list[str]:
    return sorted(point.name for point in entry_points(group="polydit.domains"))


@pytest.fixture(scope="session")
def example_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example domain's 'shipped' model, trained by its own CLI (the default train verb)."""
    from example_domain.cli import RingDomain

    root = tmp_path_factory.mktemp("ring")
    app = make_cli(RingDomain(root / "pretrained"))
    result = invoke(app, "train", "--out", root / "run", "--steps", "20")
    assert result.exit_code == 0, result.output
    shutil.copytree(root / "run" / "model", root / "pretrained" / "tiny")
    return root / "pretrained"


@pytest.fixture(params=["example", *installed()])
def case(request: pytest.FixtureRequest) -> Case:
    if request.param == "example":
        from example_domain.cli import RingDomain

        root = request.getfixturevalue("example_root")
        env = {"POLYDIT_EXAMPLE_ROOT": str(root), "PYTHONPATH": str(TESTS)}
        domain = RingDomain(root)
        return Case(domain, make_cli(domain), "example_domain.cli", env)
    (point,) = [p for p in entry_points(group="polydit.domains") if p.name == request.param]
    module = point.value.partition(":")[0]
    return Case(point.load(), importlib.import_module(module).app, module, {})


def invoke(app: Any, *args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result: Any, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def sample(case: Case, out: Path, *args: Any) -> list[dict[str, Any]]:
    result = invoke(case.app, "sample", "--out", out, *case.sample_flags(), *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads((out / "samples.json").read_text())


def per_sample_files(records: list[dict[str, Any]]) -> list[str]:
    """The files one record names alone (a file shared by every record, such as one SDF of all
    samples, is compared through the records instead)."""
    names = [r.get("file") for r in records]
    return [n for n in names if n is not None and names.count(n) == 1]


def test_same_seed_gives_identical_bytes(case: Case, tmp_path: Path) -> None:
    a = sample(case, tmp_path / "a", "--num", "2", "--seed", "5")
    b = sample(case, tmp_path / "b", "--num", "2", "--seed", "5")
    assert a == b
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_sample_does_not_depend_on_how_many_are_drawn(case: Case, tmp_path: Path) -> None:
    few = sample(case, tmp_path / "few", "--num", "8")
    many = sample(case, tmp_path / "many", "--num", "16")
    assert few == many[:8]
    for name in per_sample_files(few):
        assert (tmp_path / "few" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()


def test_sample_streams_in_batches_that_do_not_change_a_sample(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sample` asks the domain for at most `sample_batch` samples at a time (memory stays flat
    in --num), and a run drawn in batches of 3 writes what one batch writes."""
    whole = sample(case, tmp_path / "whole", "--num", "7", "--seed", "3")
    asked: list[tuple[int, int]] = []
    original = type(case.domain).sample

    def spy(self: Domain, generator: Any, opts: Any, out: Path) -> list[dict[str, Any]]:
        asked.append((opts.first, opts.num))
        return original(self, generator, opts, out)

    monkeypatch.setattr(case.domain, "sample_batch", 3)
    monkeypatch.setattr(type(case.domain), "sample", spy)
    batched = sample(case, tmp_path / "batched", "--num", "7", "--seed", "3")
    assert asked == [(0, 3), (3, 3), (6, 1)]
    assert batched == whole
    for name in per_sample_files(whole):
        assert (tmp_path / "whole" / name).read_bytes() == (
            tmp_path / "batched" / name
        ).read_bytes()


def test_save_and_load_pretrained_round_trip(case: Case, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    generator = case.domain.load(case.default_model, device="cpu", dtype="fp32")
    first = generator.save_pretrained(tmp_path / "first")
    again = case.domain.load(first, device="cpu", dtype="fp32").save_pretrained(tmp_path / "again")
    for name in ("config.json", "model.safetensors"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    shipped = load_file(case.default_model / "model.safetensors")
    saved = load_file(first / "model.safetensors")
    assert shipped.keys() == saved.keys()
    assert all(shipped[k].equal(saved[k]) for k in shipped)


@pytest.mark.parametrize("verb", [(), ("train",), ("sample",), ("eval",), ("export",), ("info",)])
def test_help_imports_no_torch(case: Case, verb: tuple[str, ...]) -> None:
    code = (
        "import sys, importlib\n"
        "from polydit.core.cli import run_cli\n"
        f"app = importlib.import_module({case.module!r}).app\n"
        "try:\n"
        f"    run_cli(app, [*{list(verb)!r}, '--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **case.env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sample", "--num", "0"), "--num"),
        (("sample", "--no-such-flag"), "--no-such-flag"),
        (("sample", "--sampler", "nope"), "nope"),
        (("sample", "--seed", "-1"), "--seed"),
        (("sample", "--seed", str(2**70)), "--seed"),
        (("sample", "--model", "/nonexistent/model"), "/nonexistent/model"),
        (("eval", "--device", "tpu"), "tpu"),
        (("export", "--run", "/nonexistent/run", "--out", "x"), "/nonexistent/run"),
    ],
)
def test_usage_errors_exit_2_with_one_line(case: Case, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(invoke(case.app, *args), 2, needle)


def broken_copy(case: Case, tmp_path: Path, breakage: str) -> Path:
    model = tmp_path / "model"
    shutil.copytree(case.default_model, model)
    if breakage == "weights":
        data = (model / "model.safetensors").read_bytes()
        (model / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif breakage == "payload":  # the header still parses; only the checksum can tell
        data = bytearray((model / "model.safetensors").read_bytes())
        data[-1] ^= 0xFF
        (model / "model.safetensors").write_bytes(bytes(data))
    elif breakage == "package":
        config = json.loads((model / "config.json").read_text())
        config["package"] = "polydit-other"
        (model / "config.json").write_text(json.dumps(config))
    else:
        (model / "config.json").unlink()
    return model


@pytest.mark.parametrize(
    ("breakage", "needle"),
    [
        ("weights", "model.safetensors"),
        ("payload", "SHA-256 does not match"),
        ("package", "written by polydit-other"),
        ("config", "config.json"),
    ],
)
def test_a_bad_model_is_one_line_and_leaves_no_output(
    case: Case, tmp_path: Path, breakage: str, needle: str
) -> None:
    model = broken_copy(case, tmp_path, breakage)
    out = tmp_path / "out"
    result = invoke(case.app, "sample", "--model", model, "--out", out, *case.sample_flags())
    assert_one_line_error(result, 1, needle)
    assert not (out / "samples.json").exists()
    assert_one_line_error(invoke(case.app, "info", "--model", model), 1, needle)
