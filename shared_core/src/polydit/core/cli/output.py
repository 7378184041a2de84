"""What the CLIs print and write: key/value tables, strict JSON and the --out directory."""

import contextlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from polydit.core.atomic import staged_directory
from polydit.core.errors import ConfigError

#: what `sample` writes beside the samples, describing each; marks a directory as its output
SAMPLES_FILE = "samples.json"
#: what `eval --report DIR` writes beside the figures: the metrics; marks DIR as its output
REPORT_FILE = "metrics.json"


@contextlib.contextmanager
def output_directory(
    out: Path, *, marker: str = SAMPLES_FILE, flag: str = "--out"
) -> Iterator[Path]:
    """The directory a verb writes its output into: a temp sibling of `out` that replaces it
    whole on success, and is deleted on any failure or Ctrl-C (no partial output, no stale
    files from an earlier run). `out` may be absent, empty or an earlier output (it holds
    `marker`); anything else is refused, so user files are never deleted. Errors name `flag`.
    """
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ConfigError(f"{flag} {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise ConfigError(
            f"{flag} {out}: not empty and not an earlier output (no {marker}); refusing to "
            "replace it — choose another directory"
        )
    try:
        with staged_directory(out) as staging:
            yield staging
    except OSError as e:
        raise ConfigError(f"{flag} {out}: cannot write there ({e.strerror or e})") from None


def to_json(data: Any, **kwargs: Any) -> str:
    """Strict JSON: paths as strings, NaN/inf as null."""
    return json.dumps(_strict(data), allow_nan=False, **kwargs)


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        return _strict(value.item())
    return str(value)


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns separated by two spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, value) pairs of a nested mapping, for printing as a table."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            pairs += flatten(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            pairs.append((f"{prefix}{key}", f"{value:.6g}"))
        else:
            pairs.append((f"{prefix}{key}", str(value)))
    return pairs
