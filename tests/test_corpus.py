"""The bad-input corpus (tests/corpus/make.py) fed to every installed domain: each case exits
non-zero (2 for usage errors) with one line naming the file, field or flag, no traceback, and
leaves no output behind."""

from __future__ import annotations

import importlib
import shutil
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from corpus.make import DATA_CASES, FLAG_CASES, MODEL_CASES, BadInput
from typer.testing import CliRunner

DOMAINS = {point.name: point for point in entry_points(group="polydit.domains")}
#: sampling flags that keep a model case fast if it wrongly got as far as sampling
FAST = ("--num", "1", "--steps", "1")


def app_of(name: str) -> Any:
    return importlib.import_module(DOMAINS[name].value.partition(":")[0]).app


def default_model(name: str) -> Path:
    domain = DOMAINS[name].load()
    return Path(domain.pretrained_root) / domain.default_model


def check(result: Any, code: int, needle: str) -> None:
    assert result.exit_code == code, (result.stdout[-800:], result.stderr[-800:], result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.output
    assert needle in lines[0], lines[0]


def invoke(name: str, *args: Any) -> Any:
    return CliRunner().invoke(app_of(name), [str(a) for a in args])


MODEL = [(d, *c) for d in sorted(DOMAINS) for c in MODEL_CASES]
FLAGS = [(d, *c) for d in sorted(DOMAINS) for c in FLAG_CASES]
DATA = [(d, c) for d in sorted(DOMAINS) for c in DATA_CASES.get(d, [])]


@pytest.mark.parametrize(
    ("domain", "case", "mutate", "needle"), MODEL, ids=[f"{d}-{c}" for d, c, *_ in MODEL]
)
def test_a_broken_model_directory(
    domain: str, case: str, mutate: Any, needle: str, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model(domain), model)
    mutate(model)
    out = tmp_path / "out"
    check(
        invoke(domain, "sample", "--model", model, "--out", out, *FAST),
        1 if model.exists() else 2,
        needle,
    )
    assert not out.exists()
    check(invoke(domain, "info", "--model", model), 1 if model.exists() else 2, needle)


@pytest.mark.parametrize(
    ("domain", "case", "flags", "needle", "code"), FLAGS, ids=[f"{d}-{c}" for d, c, *_ in FLAGS]
)
def test_a_bad_flag(
    domain: str, case: str, flags: list[str], needle: str, code: int, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("a user's file")
    flags = [f.replace("{file}", str(tmp_path / "file")) for f in flags]
    out = [] if "--out" in flags else ["--out", tmp_path / "out"]
    check(invoke(domain, "sample", *out, *flags), code, needle)
    assert not (tmp_path / "out").exists() and (tmp_path / "file").read_text() == "a user's file"


@pytest.mark.parametrize(("domain", "case"), DATA, ids=[f"{d}-{c.name}" for d, c in DATA])
def test_a_malformed_data_file(domain: str, case: BadInput, tmp_path: Path) -> None:
    data, needle = case.build(tmp_path / "in")
    out = tmp_path / "preview"
    check(invoke(domain, "data", "show", "--data", data, "--out", out), 1, needle)
    assert not out.exists() or not any(out.iterdir())


def test_the_readme_quotes_the_corpus_as_it_is() -> None:
    from corpus.make import count

    sizes = count()
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    total = len(MODEL) + len(FLAGS) + len(DATA)
    quoted = f"{sizes['model']} broken model directories, {sizes['flags']} bad flags, {sizes['data']} malformed data files"
    assert quoted in readme and f"**{total} cases, {total} pass**" in readme
