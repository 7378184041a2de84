"""Whole-directory writes: one writer at a time, nothing half-written, nothing mixed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from polydit.core.atomic import staged_directory
from polydit.core.errors import ConfigError

SLOW_WRITER = """
import sys, time
from pathlib import Path
from polydit.core.atomic import staged_directory
with staged_directory(Path(sys.argv[1])) as tmp:
    (tmp / "a.txt").write_text("first")
    Path(sys.argv[2]).write_text("")
    time.sleep(1.5)
    (tmp / "b.txt").write_text("first")
"""


def test_a_second_writer_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    target, started = tmp_path / "out", tmp_path / "started"
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target), str(started)])
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = pytest.raises(ConfigError, match="another process is writing it now")
    with refused, staged_directory(target) as tmp:
        (tmp / "c.txt").write_text("second")
    assert writer.wait(60) == 0  # the first writer was not disturbed
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "started"]  # no lock, no temp
    with staged_directory(target) as tmp:  # free again
        (tmp / "c.txt").write_text("second")
    assert [p.name for p in target.iterdir()] == ["c.txt"]


@pytest.mark.skipif(shutil.which("polydit-image") is None, reason="polydit-image not installed")
def test_two_cli_runs_on_one_out_never_mix_their_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [
                "polydit-image",
                "sample",
                "--num",
                "12",
                "--steps",
                "2",
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (0, 100)
    ]
    results = [(run.wait(300), run.stderr.read()) for run in runs]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert code == 0 or "another process is writing it now" in err, err
    records = json.loads((out / "samples.json").read_text())
    assert len({r["seed"] // 100 for r in records}) == 1  # every file from one run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [r["file"] for r in records] + ["grid.png", "samples.json"]
    )
