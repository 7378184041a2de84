"""Atomic file writes: nothing half-written survives a crash.

Every file polydit writes (samples, checkpoints, manifests, galleries) goes through a temp file
beside its target, is fsynced and then renamed over the target, so readers see either the old
complete file or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from polydit.core.errors import ConfigError

TMP_PREFIX = ".tmp-"


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Write `path` through ``write(binary_file)`` into a temp file beside it, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "xb") as f:  # unlike mkstemp, honours the umask (not always 0600)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_path(path.parent)  # make the rename itself durable
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 `text` to `path`."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file or directory entry to disk where the OS allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temp_files(directory: str | os.PathLike[str]) -> None:
    """Delete temp files left in `directory` by a writer that crashed before its rename."""
    directory = Path(directory)
    if directory.is_dir():
        for p in directory.glob(f"{TMP_PREFIX}*"):
            p.unlink(missing_ok=True)


def replace_directory(tmp: Path, target: Path) -> None:
    """Rename the complete directory `tmp` to `target`, replacing a directory there. Between
    moving the old one aside and moving the new one in, a crash leaves ``.<name>.old-*``."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old)  # `old` is an empty directory, so this rename replaces it
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    fsync_path(target.parent)


@contextlib.contextmanager
def writer_lock(target: Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside `target` exclusively while the block runs: a second process
    staging the same directory is refused (ConfigError) instead of mixing its files in. The
    lock file is removed on the way out; a lock taken on a file another holder just removed is
    retried."""
    lock = target.parent / f".{target.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"{target}: another process is writing it now; wait for it to finish or choose "
                "another directory"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # locked a file its holder had just removed: take the new one
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A fresh temp directory beside `target` (mode per the umask) to write a whole directory
    into: on success it replaces `target`, on any failure (Ctrl-C included) it is deleted and
    `target` is untouched. One writer at a time (:func:`writer_lock`); temp directories of
    killed earlier writers are removed first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(target):
        yield from _staged(target)


def _staged(target: Path) -> Iterator[Path]:
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; outputs and models are for everyone
    try:
        yield tmp
        fsync_path(tmp)
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
