"""Each member builds a wheel that installs alone into an empty venv with only its own deps, and
the Python programs of its README run there, from an empty directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from readme_blocks import python_programs

ROOT = Path(__file__).resolve().parents[2]
# (distribution, member directory, a module it must import) — every new package joins this list
MEMBERS = [
    ("polydit-core", "shared_core", "polydit.core.dit"),
    ("polydit", "apps/polydit", "polydit.umbrella.cli"),
    ("polydit-image", "packages/image", "polydit.image"),
    ("polydit-video", "packages/video", "polydit.video"),
    ("polydit-molecule", "packages/molecule", "polydit.molecule"),
    ("polydit-graph", "packages/graph", "polydit.graph"),
    ("polydit-audio", "packages/audio", "polydit.audio"),
    ("polydit-pointcloud", "packages/pointcloud", "polydit.pointcloud"),
    ("polydit-policy", "packages/policy", "polydit.policy"),
]
UV = shutil.which("uv")


def workspace_distributions() -> set[str]:
    names = set()
    for pyproject in [
        ROOT / "shared_core/pyproject.toml",
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("apps/*/pyproject.toml"),
    ]:
        names.add(tomllib.loads(pyproject.read_text())["project"]["name"])
    return names


def test_every_member_is_listed():
    listed = {name for name, _, _ in MEMBERS} | {"polydit-bench"}  # the bench app is not published
    assert workspace_distributions() == listed


@pytest.mark.skipif(UV is None, reason="uv is not on PATH")
@pytest.mark.parametrize(("dist", "member", "module"), MEMBERS)
def test_wheel_installs_alone(dist, member, module, tmp_path):
    wheels = tmp_path / "wheels"
    for name in {"polydit-core", dist}:  # the member and the one workspace sibling it may need
        subprocess.run(
            [UV, "build", "--package", name, "--wheel", "-o", str(wheels)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    env_dir = tmp_path / "venv"
    subprocess.run(
        [UV, "venv", "-q", "-p", sys.executable, str(env_dir)], check=True, capture_output=True
    )
    python = env_dir / "bin" / "python"
    result = subprocess.run(
        [UV, "pip", "install", "-q", "--python", str(python), "--find-links", str(wheels), dist],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    subprocess.run([str(python), "-c", f"import {module}"], check=True)
    project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
    if "polydit.domains" in project.get("entry-points", {}):  # a domain carries its model
        check = (
            f"from {module}.cli import DOMAIN as d; "
            "w = d.pretrained_root / d.default_model / 'model.safetensors'; "
            "assert w.is_file(), w"
        )
        shipped = subprocess.run([str(python), "-c", check], capture_output=True, text=True)
        assert shipped.returncode == 0, shipped.stderr
    for block in python_programs(ROOT / member / "README.md"):  # real work, from the wheel alone
        workdir = tmp_path / f"readme-{block.line}"
        workdir.mkdir()
        done = subprocess.run(
            [str(python), "-c", block.code],
            cwd=workdir,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{block.name} in the {dist} venv:\n{done.stderr[-4000:]}"
    listed = subprocess.run(
        [UV, "pip", "list", "--python", str(python)], capture_output=True, text=True, check=True
    ).stdout
    others = {name for name in workspace_distributions() if name != dist and name != "polydit-core"}
    installed = {line.split()[0] for line in listed.splitlines()[2:]}
    assert not (installed & others), f"{dist} pulled in other members: {installed & others}"
