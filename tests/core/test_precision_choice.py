"""--dtype auto: bf16 only where the CPU computes it natively and the domain samples faster in it;
auto is the CLI's default for the generation verbs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polydit.core.cli import Domain, EvalOptions, GalleryItem, SampleOptions, make_cli
from polydit.core.precision_choice import cpu_flags, resolve_dtype

NATIVE = frozenset({"avx2", "avx512f", "avx512_bf16"})


def test_auto_picks_bf16_only_with_native_bf16_flags() -> None:
    assert resolve_dtype("auto", "cpu", NATIVE) == "bf16"
    assert resolve_dtype("auto", "cpu", frozenset({"amx_bf16"})) == "bf16"
    assert resolve_dtype("auto", "cpu", frozenset({"avx2", "avx512f"})) == "fp32"
    assert resolve_dtype("fp32", "cpu", frozenset({"avx512_bf16"})) == "fp32"
    assert resolve_dtype("bf16", "cpu", frozenset()) == "bf16"


def test_auto_keeps_fp32_for_a_domain_that_opts_out_but_an_explicit_dtype_wins() -> None:
    assert resolve_dtype("auto", "cpu", NATIVE, bf16_speeds_up=False) == "fp32"
    assert resolve_dtype("auto", "cpu", frozenset({"amx_bf16"}), bf16_speeds_up=False) == "fp32"
    assert resolve_dtype("bf16", "cpu", NATIVE, bf16_speeds_up=False) == "bf16"
    assert resolve_dtype("fp32", "cpu", NATIVE, bf16_speeds_up=True) == "fp32"


def test_cpu_flags_read_proc_cpuinfo_and_survive_its_absence(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert cpu_flags.__wrapped__(info) == frozenset({"fpu", "avx2", "avx512_bf16"})
    assert cpu_flags.__wrapped__(tmp_path / "missing") == frozenset()


class DtypeDomain(Domain):
    """A torch-free domain whose samples and metrics only say which dtype reached them."""

    name = "dtypes"
    default_model = "tiny"

    def __init__(self, pretrained_root: Path, bf16_speeds_up: bool) -> None:
        self.pretrained_root = pretrained_root
        self.bf16_speeds_up = bf16_speeds_up

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        return dtype

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        assert generator == opts.dtype  # loaded and sampled with the same resolved dtype
        (out / "x.txt").write_text(opts.dtype)
        return [{"file": "x.txt", "seed": opts.seed, "conditioning": {}}]

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        return {"bf16": float(opts.dtype == "bf16")}

    def data_show(self, opts: Any) -> None:
        raise NotImplementedError

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        raise NotImplementedError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pretrained" / "tiny").mkdir(parents=True)
    (tmp_path / "pretrained" / "tiny" / "config.json").write_text("{}")
    return tmp_path / "pretrained"


def sampled_dtype(app: Any, out: Path, *flags: str) -> str:
    result = CliRunner().invoke(app, ["sample", "--num", "1", "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    (record,) = json.loads((out / "samples.json").read_text())
    return record["dtype"]


def eval_dtype(app: Any, *flags: str) -> str:
    result = CliRunner().invoke(app, ["eval", "--json", "--quiet", *flags])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])["dtype"]


@pytest.mark.parametrize("bf16_speeds_up", [True, False])
def test_the_cli_default_is_auto_resolved_for_the_domain(
    root: Path, tmp_path: Path, bf16_speeds_up: bool
) -> None:
    app = make_cli(DtypeDomain(root, bf16_speeds_up))
    expected = resolve_dtype("auto", "cpu") if bf16_speeds_up else "fp32"
    assert sampled_dtype(app, tmp_path / "default") == expected
    assert eval_dtype(app) == expected
    assert sampled_dtype(app, tmp_path / "auto", "--dtype", "auto") == expected
    for explicit in ("fp32", "bf16"):  # always obeyed
        assert sampled_dtype(app, tmp_path / explicit, "--dtype", explicit) == explicit
        assert eval_dtype(app, "--dtype", explicit) == explicit
    help_text = CliRunner().invoke(app, ["sample", "--help"], terminal_width=200).output
    assert "default: auto" in help_text
    assert ("samples faster in fp32" in help_text) != bf16_speeds_up
