"""What the CLIs print and write: key/value tables and strict JSON."""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any


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
