"""Ctrl-C during `sample`: nothing half-written is left, and the process ends promptly (a
second Ctrl-C at once, leaving at most the hidden temp directory the next run clears)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

IMAGE = shutil.which("polydit-image")


def interrupted(tmp_path: Path, signals: int) -> tuple[int, float, Path]:
    """Start a long `polydit-image sample`, send `signals` SIGINTs once it has started writing;
    (exit code, seconds from the first signal to the exit, the parent of --out)."""
    parent = tmp_path / "parent"
    parent.mkdir()
    run = subprocess.Popen(
        [IMAGE, "sample", "--num", "100000", "--steps", "2", "--out", str(parent / "out")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not list(parent.glob(".out.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well inside sampling
    sent = time.monotonic()
    for _ in range(signals):
        run.send_signal(signal.SIGINT)
        time.sleep(0.05)
    code = run.wait(60)
    return code, time.monotonic() - sent, parent


@pytest.mark.skipif(IMAGE is None, reason="polydit-image is not installed")
@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path, signals: int) -> None:
    code, seconds, parent = interrupted(tmp_path, signals)
    assert seconds < 10
    if signals == 1:
        assert code == 130 and list(parent.iterdir()) == []  # no --out, no temp dir, no lock
    else:  # the second one may cut the clean-up short: only hidden debris the next run removes
        assert code in (130, -signal.SIGINT)
        assert all(p.name.startswith(".out.") for p in parent.iterdir())
