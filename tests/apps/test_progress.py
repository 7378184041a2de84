"""A real terminal sees sampling progress on stderr; a pipe gets no bar and clean --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

IMAGE = shutil.which("polydit-image")


@pytest.mark.skipif(IMAGE is None, reason="polydit-image is not installed")
def test_sample_draws_a_bar_on_a_terminal_and_eval_json_stays_clean(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            [IMAGE, "sample", "--num", "20", "--steps", "2", "--out", tmp_path / "s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env,
            timeout=300, check=True,
        )  # fmt: skip
        os.close(follower)
        drawn = b""
        while chunk := _read(leader):
            drawn += chunk
    finally:
        os.close(leader)
    assert b"samples" in drawn and b"20/20" in drawn, drawn[-400:]
    assert b"20 samples from" in done.stdout and b"20/20" not in done.stdout  # bars: stderr
    piped = subprocess.run(
        [IMAGE, "eval", "--num", "16", "--steps", "2", "--json"],
        capture_output=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    assert b"20/20" not in piped.stderr and b"16/16" not in piped.stderr
    assert "accuracy" in json.loads(piped.stdout.decode().strip().splitlines()[-1])


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed: everything was read
        return b""
