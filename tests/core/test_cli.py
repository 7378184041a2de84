"""The CLI factory end to end, on a tiny fake domain (a 4→4 linear map sampling .npy arrays).

Run as a script, this file is that fake domain's CLI (the subprocess tests use it); its pretrained
root comes from $POLYDIT_FAKE_ROOT. Torch is imported inside the domain's methods only, as real
domain packages must, so ``--help`` can be checked to import no torch.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polydit.core.cli import (
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    SampleOptions,
    TrainOptions,
    make_cli,
    run_cli,
)
from polydit.core.hub import load_pretrained, save_pretrained
from polydit.core.precision_choice import resolve_dtype

PACKAGE, VERSION = "polydit-fake", "0.1.0"


def save_tiny(directory: Path, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Linear(4, 4)
    return save_pretrained(
        directory, package=PACKAGE, version=VERSION, config={"dim": 4}, state_dict=net.state_dict()
    )


class FakeDomain(Domain):
    name = "fake"
    package = PACKAGE
    default_model = "tiny"
    sample_options = (
        Flag("scale", float, 1.0, "Multiply every sample by this."),
        Flag("label", str, None, "A class label.", choices=("cat", "dog")),
        Flag("mirror", bool, False, "Negate the samples."),
        Flag("twin", bool, False, "Sample the shipped 'twin' model instead of --model."),
        Flag("crash-after", int, None, "Fail after writing this many samples."),
    )
    train_options = (Flag("width", int, 4, "Hidden width."),)

    def __init__(self, pretrained_root: Path) -> None:
        self.pretrained_root = pretrained_root

    def select_model(self, model: Path, extra: dict[str, Any]) -> Path:
        return self.pretrained_root / "twin" if extra.get("twin") else model

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        import torch

        config, state = load_pretrained(model_dir, package=PACKAGE, version=VERSION)
        net = torch.nn.Linear(config["dim"], config["dim"])
        net.load_state_dict(state)
        return net.to(device, {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype])

    def _array(self, net: Any, seed: int) -> Any:
        import torch

        noise = torch.randn(3, 4, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            return net(noise.to(net.weight.dtype)).float().numpy()

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        import numpy as np

        sign = -1.0 if opts.extra["mirror"] else 1.0
        records = []
        for i in range(opts.num):
            if i == opts.extra["crash_after"]:
                raise OSError(28, "No space left on device")
            name = f"sample_{i:03d}.npy"
            np.save(out / name, sign * opts.extra["scale"] * self._array(generator, opts.seed + i))
            conditioning = {
                "label": opts.extra["label"],
                "sampler": opts.sampler,
                "cfg": opts.cfg,
                "cache": [opts.cache, opts.cache_opts],
            }
            records.append({"file": name, "seed": opts.seed + i, "conditioning": conditioning})
        return records

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        print("evaluating the fake domain...")  # progress on stdout must not break --json
        if opts.cache != "none":  # what a Pipeline counts while sampling with a cache
            from polydit.core.accel import Usage

            generator.cache_usage = Usage(computed=3, total=4)
        values = self._array(generator, opts.seed)
        return {"mean": float(values.mean()), "std": float(values.std()), "nan": float("nan")}

    def train(self, opts: TrainOptions) -> Path:
        print(f"training {opts.steps} steps on {opts.data} with {opts.config}")
        print(f"warm start: {opts.init_from}")
        return save_tiny(opts.out / "model", seed=0 if opts.seed is None else opts.seed)

    def data_show(self, opts: DataOptions) -> None:
        print(f"dataset {opts.data or 'builtin'}: showing {opts.num}")

    def info(self, generator: Any) -> dict[str, Any]:
        return {"parameters": sum(p.numel() for p in generator.parameters()), "arch": {"dim": 4}}

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        raise NotImplementedError  # the umbrella tests have their own demo domain


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pretrained")
    save_tiny(root / "tiny")
    save_tiny(root / "twin", seed=1)
    return root


@pytest.fixture(scope="module")
def app(root: Path) -> Any:
    return make_cli(FakeDomain(root))


def invoke(app: Any, *args: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result: Any, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def test_sample_writes_one_record_per_sample(app: Any, tmp_path: Path) -> None:
    result = invoke(app, "sample", "--num", "3", "--seed", "7", "--out", tmp_path, "--scale", "2",
                    "--label", "dog", "--sampler", "heun", "--cfg", "1.5",
                    "--cache", "fora", "--cache-opts", "interval=3", "--cache-opts", "x = y")  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "samples.json").read_text())
    assert [r["seed"] for r in records] == [7, 8, 9]
    assert all((tmp_path / r["file"]).is_file() for r in records)
    auto = resolve_dtype("auto", "cpu")
    assert {r["dtype"] for r in records} == {auto}  # the default --dtype auto, as resolved
    assert records[0]["conditioning"] == {
        "label": "dog",
        "sampler": "heun",
        "cfg": 1.5,
        "cache": ["fora", {"interval": "3", "x": "y"}],
    }
    assert "3 samples" in result.stdout.strip().splitlines()[-1]
    assert not list(tmp_path.glob(".tmp-*"))


def test_sample_is_deterministic_and_extra_flags_reach_the_domain(
    app: Any, root: Path, tmp_path: Path
) -> None:
    import numpy as np

    runs = {
        "a": ["--seed", "3"],
        "b": ["--seed", "3", "--model", root / "tiny"],
        "c": ["--seed", "3", "--scale", "2", "--mirror"],
    }
    for name, flags in runs.items():
        assert invoke(app, "sample", "--num", "1", "--out", tmp_path / name, *flags).exit_code == 0
    a, b, c = (np.load(tmp_path / name / "sample_000.npy") for name in runs)
    assert np.array_equal(a, b)
    assert np.array_equal(c, -2 * a)


def test_a_domain_flag_can_select_the_model_to_load(app: Any, root: Path, tmp_path: Path) -> None:
    import numpy as np

    result = invoke(app, "sample", "--num", "1", "--out", tmp_path / "twin", "--twin")
    assert result.exit_code == 0, result.output
    assert f"from {root / 'twin'} in" in result.stdout  # the message names the model it loaded
    assert invoke(app, "sample", "--num", "1", "--out", tmp_path / "tiny").exit_code == 0
    twin, tiny = (np.load(tmp_path / name / "sample_000.npy") for name in ("twin", "tiny"))
    assert not np.array_equal(twin, tiny)


def test_train_init_from_resolves_shipped_names_and_rejects_unknown_ones(
    app: Any, root: Path, tmp_path: Path
) -> None:
    result = invoke(app, "train", "--out", tmp_path / "a", "--init-from", "twin")
    assert result.exit_code == 0, result.output
    assert f"warm start: {root / 'twin'}" in result.stdout
    result = invoke(app, "train", "--out", tmp_path / "b")
    assert "warm start: None" in result.stdout
    bad = invoke(app, "train", "--out", tmp_path / "c", "--init-from", "nowhere")
    assert_one_line_error(bad, 2, "--init-from", "nowhere", "tiny, twin")


def test_eval_json_is_the_last_stdout_line(app: Any) -> None:
    result = invoke(app, "eval", "--json", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "evaluating the fake domain..."
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(metrics) == {"mean", "std", "nan", "eval_seconds", "dtype"}
    assert metrics["nan"] is None and metrics["dtype"] == resolve_dtype("auto", "cpu")
    assert metrics["eval_seconds"] > 0
    table = invoke(app, "eval").stdout
    assert "mean" in table and "{" not in table


def test_eval_with_a_cache_reports_the_compute_it_used(app: Any) -> None:
    result = invoke(app, "eval", "--json", "--cache", "fora", "--cache-opts", "interval=2")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["cache_block_fraction"] == 0.75


def test_info_table_and_json(app: Any, root: Path) -> None:
    details = json.loads(invoke(app, "info", "--json").stdout.strip().splitlines()[-1])
    assert details == {"model": str(root / "tiny"), "parameters": 20, "arch": {"dim": 4}}
    assert "arch.dim" in invoke(app, "info").stdout


def test_train_then_sample_the_trained_model(app: Any, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lr": 0.001}))
    result = invoke(app, "train", "--data", "digits", "--config", config, "--steps", "5",
                    "--out", tmp_path / "run", "--width", "8")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "training 5 steps on digits with {'lr': 0.001}" in result.stdout
    model = tmp_path / "run" / "model"
    assert result.stdout.strip().endswith(f"saved {model}")
    assert (
        invoke(app, "sample", "--model", model, "--num", "1", "--out", tmp_path / "s").exit_code
        == 0
    )


def test_data_show_and_help(app: Any) -> None:
    assert "dataset builtin: showing 2" in invoke(app, "data", "show", "--num", "2").stdout
    top = invoke(app)
    assert top.exit_code == 0
    assert all(verb in top.stdout for verb in ("train", "sample", "eval", "data", "info"))
    sample_help = invoke(app, "sample", "--help").stdout
    assert all(
        flag in sample_help for flag in ("--scale", "--label", "--mirror", "--sampler", "--cfg")
    )
    assert "--width" in invoke(app, "train", "--help").stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sample", "--num", "0"], "--num"),
        (["sample", "--num", "x"], "--num"),
        (["sample", "--steps", "-1"], "--steps"),
        (["sample", "--sampler", "magic"], "euler"),
        (["sample", "--cache", "fast"], "none"),
        (["sample", "--cache", "fora", "--cache-opts", "interval"], "KEY=VALUE"),
        (["sample", "--dtype", "fp16"], "bf16"),
        (["sample", "--device", "gpu"], "cuda:N"),
        (["sample", "--label", "cow"], "cat"),
        (["sample", "--cfg", "-2"], "--cfg"),
        (["sample", "--model", "nonexistent"], "tiny"),
        (["sample", "--frobnicate"], "--frobnicate"),
        (["smaple"], "sample"),
        (["train", "--config", "missing.json"], "missing.json"),
        (["eval", "--json", "--width", "3"], "--width"),
    ],
)
def test_usage_errors_exit_2_with_one_line(app: Any, args: list[str], needle: str) -> None:
    assert_one_line_error(invoke(app, *args), 2, needle)


def test_bad_config_json_is_a_usage_error(app: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_one_line_error(invoke(app, "train", "--config", bad), 2, str(bad), "JSON")
    bad.write_text("[1, 2]")
    assert_one_line_error(invoke(app, "train", "--config", bad), 2, "expected a JSON object")


def test_cuda_without_a_gpu_is_a_usage_error(app: Any) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert_one_line_error(invoke(app, "sample", "--device", "cuda:0"), 2, "no CUDA device")


def test_checkpoint_errors_exit_1_with_one_line(app: Any, root: Path, tmp_path: Path) -> None:
    broken = save_tiny(tmp_path / "broken")
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    assert_one_line_error(invoke(app, "sample", "--model", broken), 1, str(weights), "corrupt")
    other = save_pretrained(tmp_path / "other", package="polydit-graph", version="0.1.0",
                            config={}, state_dict={})  # fmt: skip
    assert_one_line_error(invoke(app, "info", "--model", other), 1, "written by polydit-graph")


def test_domain_flags_must_not_clash_with_common_flags(root: Path) -> None:
    class Clashing(FakeDomain):
        sample_options = (Flag("seed", int, 0, "again"),)

    with pytest.raises(ValueError, match="--seed"):
        make_cli(Clashing(root))
    with pytest.raises(ValueError, match="choices"):
        Flag("size", int, 1, choices=("1", "2"))


def test_quiet_is_a_generation_flag_and_json_stays_the_last_line(app: Any, tmp_path: Path) -> None:
    assert invoke(app, "sample", "--quiet", "--num", "1", "--out", tmp_path / "q").exit_code == 0
    result = invoke(app, "eval", "--quiet", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout.strip().splitlines()[-1])["mean"]


def test_eval_report_writes_the_domains_figures_whole_or_refuses(
    root: Path, tmp_path: Path
) -> None:
    class Reporting(FakeDomain):
        reports, fail = True, False

        def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
            metrics = super().evaluate(generator, opts)
            if opts.report is not None:
                (opts.report / "figure.png").write_bytes(b"\x89PNG")
                if self.fail:
                    raise OSError(28, "No space left on device")
            return metrics

    reporting = make_cli(Reporting(root))
    out = tmp_path / "report"
    result = invoke(reporting, "eval", "--json", "--report", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["figure.png", "metrics.json"]
    written = json.loads((out / "metrics.json").read_text())
    assert written["mean"] == json.loads(result.stdout.strip().splitlines()[-1])["mean"]
    assert invoke(reporting, "eval", "--report", out).exit_code == 0  # an earlier report: replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert_one_line_error(invoke(reporting, "eval", "--report", tmp_path / "mine"), 1, "refusing")
    assert_one_line_error(
        invoke(make_cli(FakeDomain(root)), "eval", "--report", tmp_path / "x"), 2, "--report"
    )
    assert not (tmp_path / "x").exists()
    failing = Reporting(root)
    failing.fail = True
    assert invoke(make_cli(failing), "eval", "--report", tmp_path / "y").exit_code == 1
    assert not (tmp_path / "y").exists()  # no half-written report


def test_dtype_auto_reaches_the_domain_resolved(app: Any, tmp_path: Path) -> None:
    result = invoke(app, "sample", "--dtype", "auto", "--num", "1", "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output  # the fake domain knows only fp32 and bf16
    assert resolve_dtype("auto", "cpu") in ("fp32", "bf16")
    (record,) = json.loads((tmp_path / "a" / "samples.json").read_text())
    assert record["dtype"] == resolve_dtype("auto", "cpu")  # samples.json says what ran


def test_a_domain_without_caches_offers_no_cache_flags(root: Path, tmp_path: Path) -> None:
    class Uncached(FakeDomain):
        caches = False

    uncached = make_cli(Uncached(root))
    for verb in ("sample", "eval"):  # eval's docstring says what it reports "with --cache"
        result = invoke(uncached, verb, "--help")
        assert result.exit_code == 0 and "--cfg" in result.output
        assert "--cache-opts" not in result.output and "--cache " not in result.output
    assert "--cache-opts" in invoke(make_cli(FakeDomain(root)), "sample", "--help").output
    refused = invoke(uncached, "sample", "--cache", "fora", "--out", tmp_path / "x")
    assert refused.exit_code == 2 and "--cache" in refused.output
    assert not (tmp_path / "x").exists()
    invoke(uncached, "sample", "--num", "1", "--out", tmp_path / "y")
    record = json.loads((tmp_path / "y" / "samples.json").read_text())[0]
    assert record["conditioning"]["cache"] == ["none", {}]


def run_script(
    root: Path, *args: str, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    env = {**os.environ, "POLYDIT_FAKE_ROOT": str(root)}
    command = [sys.executable, *flags, __file__, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_help_imports_no_torch(root: Path) -> None:
    for args in ([], ["--help"], ["sample", "--help"], ["eval", "--help"], ["train", "--help"]):
        done = run_script(root, *args, importtime=True)
        assert done.returncode == 0, done.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert "torch" not in imported and "safetensors.torch" not in imported, args


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["sample", "--num", "x"], 2, "--num"),
        (["sample", "--model", "/nonexistent/model"], 2, "/nonexistent/model"),
        (["sample", "--model", "{broken}"], 1, "model.safetensors"),
    ],
)
def test_real_process_exit_codes(
    root: Path, tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    broken = save_tiny(tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    args = [a.replace("{broken}", str(broken)) for a in args]
    done = run_script(root, *args, "--out", tmp_path / "out")
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], done.stderr
    assert not (tmp_path / "out" / "samples.json").exists()


if __name__ == "__main__":
    run_cli(make_cli(FakeDomain(Path(os.environ["POLYDIT_FAKE_ROOT"]))))


def test_sample_writes_its_out_directory_whole_or_not_at_all(app: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    crashed = invoke(app, "sample", "--num", "3", "--crash-after", "2", "--out", out)
    assert_one_line_error(crashed, 1, f"--out {out}: cannot write there", "No space left")
    assert list(tmp_path.iterdir()) == []  # neither --out nor a temp sibling
    assert invoke(app, "sample", "--num", "3", "--out", out).exit_code == 0
    assert invoke(app, "sample", "--num", "1", "--out", out).exit_code == 0  # a rerun replaces
    assert sorted(p.name for p in out.iterdir()) == ["sample_000.npy", "samples.json"]
    again = invoke(app, "sample", "--num", "3", "--crash-after", "1", "--out", out)
    assert again.exit_code == 1 and sorted(p.name for p in out.iterdir()) == [
        "sample_000.npy",
        "samples.json",
    ]  # a failed rerun leaves the earlier output as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("kind", ["file", "user-directory", "under-a-file"])
def test_sample_refuses_an_out_it_must_not_replace(app: Any, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("mine")
        out, needle = target, "is a file"  # typer's own check of --out: a usage error
    elif kind == "user-directory":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        out, needle = target, "not empty and not an earlier output"
    else:
        target.write_text("mine")
        out, needle = target / "sub", "cannot write there"
    code = 2 if kind == "file" else 1
    assert_one_line_error(invoke(app, "sample", "--out", out), code, "--out", str(out), needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]
    assert (
        target.read_text() if target.is_file() else (target / "notes.txt").read_text()
    ) == "mine"


def test_a_repeated_flag_collects_its_values_in_order(root: Path, tmp_path: Path) -> None:
    class Tagging(FakeDomain):
        sample_options = (Flag("tag", str, None, "A tag (repeatable).", repeat=True),)

        def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
            return [{"file": "none", "seed": opts.seed, "conditioning": {"tag": opts.extra["tag"]}}]

    app = make_cli(Tagging(root))
    for args, tags in ((("--tag", "a", "--tag", "b"), ["a", "b"]), ((), None)):
        out = tmp_path / str(len(args))
        result = invoke(app, "sample", "--num", "1", *args, "--out", out)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "samples.json").read_text())[0]["conditioning"]["tag"] == tags
    with pytest.raises(ValueError, match="repeated"):
        Flag("many", bool, False, repeat=True)
