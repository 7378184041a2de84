"""`sample` keeps memory flat in --num: the core CLI streams a run in batches of
``Domain.sample_batch`` (issue 21), so a large run peaks no higher than a one-batch run.

Measured on the point-cloud domain (the shipped chair-small model, ``--steps 1``: 2,048 points
per cloud), each run in a fresh process reporting its peak RSS: the ``VmHWM`` of
``/proc/self/status``, the high-water mark of the process's own memory since its exec, hence one
process per run (not ``ru_maxrss``: Linux carries the parent's RSS at the fork across the exec
into it, so under a pytest process that had loaded models every run read the same 723 MB).

Which layer bounds memory: ``Pipeline.generate`` runs the network on 16 clouds at a time
(``sample_rows``) and ``PointCloudGenerator.sample`` calls it on ``SAMPLE_CHUNK`` = 64 clouds,
so the activations are bounded however the CLI batches; what a batch keeps grows with it:
every cloud (24 KB, held twice while the chunks are joined) and, for the first batch, the
grid.png canvas (160 × 160 RGB, 77 KB per cloud). Only the CLI's ``sample_batch`` bounds
those, so the control run sets only that.

Measured here (2 busy cores), peak RSS with ``sample_batch = 64``: --num 64: 640.6-640.8 MB;
--num 512: 642.3-642.4 MB (+1.6 MB). Control, all 512 in one batch (``sample_batch = 10**9``):
687.4 MB, +46.7 MB over --num 64 (~105 KB per extra cloud). The runs use OMP_NUM_THREADS=1 and
a fixed glibc mmap threshold (MALLOC_MMAP_THRESHOLD_=65536): with glibc's default, dynamic
threshold the heap's high-water mark depends on allocation history (identical runs peaked
643-658 MB); with a fixed one every block over 64 KB goes back to the system when freed, so
the peak follows live memory (identical runs within 0.2 MB). The test uses batches of 64, not
the default 256, to stay quick (the three runs: 40-60 s here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BATCH = 64
SMALL = BATCH  # one full batch: a run's largest batch is already in the small run
LARGE = 8 * BATCH
#: the most a LARGE run may peak above the SMALL one (measured: +1.6 MB streamed, +46.7 MB not)
BOUND_MB = 20
#: runs `polydit-pointcloud sample` in-process with Domain.sample_batch set to argv[1]; prints
#: the process's peak RSS (VmHWM) in kB
WRAPPER = """
import sys
from polydit.core.cli import run_cli
from polydit.pointcloud.cli import DOMAIN, app
DOMAIN.sample_batch = int(sys.argv[1])
args = ["sample", "--num", sys.argv[2], "--steps", "1", "--seed", "0", "--quiet", "--out", sys.argv[3]]
try:
    run_cli(app, args)
except SystemExit as e:
    if e.code:
        raise
status = open("/proc/self/status").read().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="reads the peak RSS from Linux's /proc/self/status"
)


def peak_mb(sample_batch: int, num: int, out: Path) -> float:
    """Peak RSS (MB) of a fresh process sampling `num` clouds into `out`."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(sample_batch), str(num), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "65536"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("shape_*.ply"))) == num
    return int(done.stdout.split()[-1]) / 1024


def test_sample_memory_is_flat_in_num_and_grows_without_batches(tmp_path: Path) -> None:
    small = peak_mb(BATCH, SMALL, tmp_path / "small")
    large = peak_mb(BATCH, LARGE, tmp_path / "large")
    unbatched = peak_mb(10**9, LARGE, tmp_path / "unbatched")
    peaks = f"peak RSS: {small:.0f} MB small, {large:.0f} MB large, {unbatched:.0f} MB unbatched"
    assert large - small < BOUND_MB, peaks
    assert unbatched - small > BOUND_MB, peaks  # the control: this test can fail
