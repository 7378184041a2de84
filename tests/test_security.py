"""No way in through a model directory: nothing we ship unpickles, imports a name read from a
file, or evaluates text, and a crafted model directory that tries each is refused."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for tree in ("shared_core/src", "packages", "apps") for p in (ROOT / tree).rglob("*.py")
)
FORBIDDEN = {
    "pickle": re.compile(r"^\s*(import pickle|from pickle import)|\bpickle\.loads?\(", re.M),
    "torch.load without weights_only=True": re.compile(r"torch\.load\((?![^)]*weights_only=True)"),
    "numpy allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "eval/exec of text": re.compile(r"(?<![.\w])(eval|exec)\("),
    "unsafe yaml": re.compile(r"yaml\.(unsafe_)?load\((?![^)]*SafeLoader)"),
}


def test_sources_hold_no_unpickling_evaluation_or_unsafe_loading() -> None:
    assert len(SOURCES) > 100
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in SOURCES
        for what, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text())
    ]
    assert not found, found


class Payload:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture
def model(tmp_path: Path) -> Path:
    from polydit.image.cli import DOMAIN

    copy = tmp_path / "model"
    shutil.copytree(Path(DOMAIN.pretrained_root) / DOMAIN.default_model, copy)
    return copy


def info(model: Path):
    from polydit.image.cli import app

    return CliRunner().invoke(app, ["info", "--model", str(model)])


def test_pickled_weights_never_run(model: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    (model / "model.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    result = info(model)
    assert result.exit_code == 1 and "model.safetensors" in result.stderr
    assert not marker.exists()
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker)))  # not looked at
    assert info(model).exit_code == 1 and not marker.exists()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda c: c.update(codec_type="os:system"), "codec_type"),
        (lambda c: c["model"].update(cls="os.system"), "cls"),
        (lambda c: c["codec"].update(__class__="subprocess.Popen"), "__class__"),
        (lambda c: c["process"].update(kind="os.system"), "kind"),
    ],
)
def test_a_config_cannot_name_something_to_import(model: Path, change, needle: str) -> None:
    config = json.loads((model / "config.json").read_text())
    change(config)
    (model / "config.json").write_text(json.dumps(config))
    result = info(model)
    assert result.exit_code == 1 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.output
