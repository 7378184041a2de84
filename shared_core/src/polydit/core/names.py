"""A user's pick among a model's named items (classes, voices, tasks): by name or by id."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from polydit.core.errors import ConfigError


def name_index(
    value: str | int, names: Sequence[str], *, argument: str, what: str = "classes"
) -> int:
    """The index of `value` in `names`: a name, or an integer id (also as a string, as a CLI
    passes it) within range. Anything else is a ConfigError naming `argument` ("label": the
    Python argument and the CLI's --label alike) and the names."""
    if isinstance(value, str) and value in names:
        return list(names).index(value)
    if isinstance(value, bool) or not isinstance(value, str | numbers.Integral):
        index = -1  # a float, a list, None: not a name and not an id
    else:
        try:
            index = int(value)
        except ValueError:
            index = -1
    if not 0 <= index < len(names):
        raise ConfigError(
            f"{argument} {value!r} is not one of this model's {what} ({', '.join(names)})"
        )
    return index
