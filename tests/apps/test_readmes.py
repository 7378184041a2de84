"""Every README's Python programs and runnable command blocks work from an empty directory.

Where uv is installed the wheel test (test_wheels.py) runs each member's programs inside a venv
that holds that wheel alone, so they run here only without uv (once, not twice).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import ROOT, Block, blocks, commands, python_programs, readmes, runnable_commands

PROGRAMS = [b for r in readmes() for b in python_programs(r)]
COMMANDS = [b for r in readmes() for b in runnable_commands(r)]
ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
}


def run_program(block: Block, python: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", block.code], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900
    )


def test_every_readme_block_is_a_known_kind() -> None:
    kinds = {"python", "bash", "sh", "json", "text", "console", "toml"}
    odd = [b.name for r in readmes() for b in blocks(r) if b.language not in kinds]
    assert not odd, f"README blocks of an unknown language: {odd}"


@pytest.mark.skipif(
    shutil.which("uv") is not None, reason="the wheel test runs these in wheel-only venvs"
)
@pytest.mark.parametrize("block", PROGRAMS, ids=[b.name for b in PROGRAMS])
def test_python_program_runs_from_an_empty_directory(block: Block, tmp_path: Path) -> None:
    done = run_program(block, sys.executable, tmp_path)
    assert done.returncode == 0, f"{block.name}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


@pytest.mark.parametrize("block", COMMANDS, ids=[b.name for b in COMMANDS])
def test_runnable_commands_work_from_an_empty_directory(block: Block, tmp_path: Path) -> None:
    for command in commands(block):
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{block.name}: {command}\n{done.stderr[-4000:]}"


def test_the_readmes_link_only_to_files_that_exist() -> None:
    import re

    broken = []
    for readme in readmes():
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (readme.parent / target).exists():
                broken.append(f"{readme.relative_to(ROOT)} → {target}")
    assert not broken, broken
