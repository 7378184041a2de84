"""Pretrained directories: ``config.json`` + ``model.safetensors`` (+ extra JSON files).

``config.json`` holds ``{"format": 1, "package": ..., "version": ..., **config}``; the weights are
safetensors (never pickle). A directory is written into a temp sibling and renamed into place, so
a reader sees either the previous complete version or the new one; if a crash hits between moving
the old version aside and moving the new one in, the old version survives as ``.<name>.old-*``.
Loading checks the package and version that wrote the directory and names the file at fault.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polydit.core.atomic import fsync_path, staged_directory
from polydit.core.errors import CheckpointError, ConfigError, PolyditError

if TYPE_CHECKING:
    from torch import Tensor

FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_BOOKKEEPING = ("format", "package", "version")
#: config.json's SHA-256 of model.safetensors: random bytes in the payload of a valid header
#: would otherwise load as weights (directories saved before it are read unchecked)
CHECKSUM = "weights_sha256"
_VERSION = re.compile(r"\s*v?(\d+(?:\.\d+)*)")


def save_pretrained(
    directory: str | os.PathLike[str],
    *,
    package: str,
    version: str,
    config: dict[str, Any],
    state_dict: dict[str, Tensor],
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Atomically write `directory` and return it.

    extra: more JSON files by file name, e.g. ``{"metrics.json": {...}}``.
    An existing pretrained directory is replaced; any other existing path is refused.
    """
    from safetensors.torch import save_file

    target = Path(directory)
    clash = [key for key in (*_BOOKKEEPING, CHECKSUM) if key in config]
    if clash:
        raise ConfigError(f"config must not set {', '.join(clash)}: save_pretrained writes them")
    extra = extra or {}
    for name in extra:
        if (
            name in (CONFIG_FILE, WEIGHTS_FILE)
            or Path(name).name != name
            or not name.endswith(".json")
        ):
            raise ConfigError(f"extra file {name!r}: expected a plain *.json file name")
    _check_replaceable(target)
    umask = os.umask(0)
    os.umask(umask)
    with staged_directory(target) as tmp:
        save_file(_tensors(state_dict), str(tmp / WEIGHTS_FILE), metadata={"package": package})
        fsync_path(tmp / WEIGHTS_FILE)
        bookkeeping = {"format": FORMAT, "package": package, "version": version}
        checksum = {CHECKSUM: file_sha256(tmp / WEIGHTS_FILE)}
        _write_json(tmp / CONFIG_FILE, {**bookkeeping, **checksum, **config})
        for name, data in extra.items():
            _write_json(tmp / name, data)
        for file in tmp.iterdir():
            file.chmod(0o666 & ~umask)
    return target


def load_pretrained(
    directory: str | os.PathLike[str], *, package: str, version: str
) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(config without format/package/version, state dict on CPU) of a pretrained directory.

    package, version: the installed package that is loading; a directory written by another
    package, by a newer version of this one, or in another format is a `CheckpointError`.
    """
    root = Path(directory)
    config = _read_config(root, package=package, version=version)
    weights = root / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(
            f"{weights}: missing; expected the model weights next to {CONFIG_FILE}"
        )
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except Exception as e:
        reason = " ".join(str(e).split())
        raise CheckpointError(f"{weights}: corrupt or truncated safetensors file ({reason})") from e
    expected = config.pop(CHECKSUM, None)
    if expected is not None and file_sha256(weights) != expected:
        raise CheckpointError(
            f"{weights}: its SHA-256 does not match {CONFIG_FILE}'s {CHECKSUM} "
            "(corrupted or replaced weights); re-save or re-download the model"
        )
    return config, state


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_pretrained(source: str | os.PathLike[str], shipped: Path, flag: str = "model") -> Path:
    """A pretrained directory: `source` itself, or the shipped model of that name under
    `shipped` (a package's ``pretrained/`` folder); `flag` names the argument (or the CLI
    option) in the error."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if (shipped / str(source) / CONFIG_FILE).is_file():
        return shipped / str(source)
    names = shipped_models(shipped)
    raise ConfigError(
        f"{flag} {source}: not a pretrained directory or a shipped model "
        f"({', '.join(names) or 'none shipped'})"
    )


def shipped_models(root: Path) -> list[str]:
    """Names of the shipped models under `root`: its subdirectories with a config.json."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CONFIG_FILE).is_file())


def package_version(distribution: str) -> str:
    """The installed version of `distribution`, e.g. ``package_version("polydit-core")``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise PolyditError(f"{distribution} is not installed (no distribution metadata)") from None


def _read_config(root: Path, *, package: str, version: str) -> dict[str, Any]:
    if not root.is_dir():
        backups = sorted(root.parent.glob(f".{root.name}.old-*"))
        hint = (
            f"; an interrupted save left the previous version in {backups[-1]}" if backups else ""
        )
        raise CheckpointError(
            f"{root}: no such pretrained directory (expected {CONFIG_FILE} + {WEIGHTS_FILE}){hint}"
        )
    path = root / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"{path}: missing; expected a pretrained config written by {package}"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(config, dict) or any(key not in config for key in _BOOKKEEPING):
        raise CheckpointError(
            f"{path}: not a polydit pretrained config (expected a JSON object with "
            f"{', '.join(_BOOKKEEPING)})"
        )
    fmt, writer, written = (config.pop(key) for key in _BOOKKEEPING)
    if writer != package:
        raise CheckpointError(f"{path}: written by {writer}, expected {package}")
    if type(fmt) is not int or fmt != FORMAT:
        advice = "upgrade" if type(fmt) is int and fmt > FORMAT else "re-save it"
        raise CheckpointError(
            f"{path}: checkpoint format {fmt!r} written by {writer} {written}; this is {version}, "
            f"which reads format {FORMAT} — {advice}"
        )
    if _version_key(written, path) > _version_key(version, path):
        raise CheckpointError(f"{path}: written by {writer} {written}; this is {version} — upgrade")
    return config


def _version_key(text: Any, path: Path) -> tuple[int, ...]:
    """Numeric release parts of a version, padded: '0.3' → (0, 3, 0, 0); suffixes are ignored."""
    match = _VERSION.match(text) if isinstance(text, str) else None
    if match is None:
        raise CheckpointError(f"{path}: version {text!r} is not a release number like 0.1.0")
    parts = tuple(int(p) for p in match.group(1).split("."))
    return parts + (0,) * (4 - len(parts))


def _check_replaceable(target: Path) -> None:
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise CheckpointError(f"{target}: exists and is not a directory; refusing to replace it")
    if any(target.iterdir()) and not (target / CONFIG_FILE).is_file():
        raise CheckpointError(
            f"{target}: exists and is not a pretrained directory (no {CONFIG_FILE}); "
            "refusing to replace it"
        )


def _tensors(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Contiguous CPU tensors; tensors sharing storage (tied weights) are copied apart."""
    import torch

    out: dict[str, Tensor] = {}
    storages: set[int] = set()
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ConfigError(
                f"state_dict[{name!r}]: expected a Tensor, got {type(value).__name__}"
            )
        tensor = value.detach().cpu().contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if storage in storages:
            tensor = tensor.clone()
        storages.add(storage)
        out[name] = tensor
    return out


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
