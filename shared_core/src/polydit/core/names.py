"""A user's pick among a model's named items (classes, voices, tasks): by name or by id."""

from __future__ import annotations

from collections.abc import Sequence

from polydit.core.errors import ConfigError


def name_index(value: str | int, names: Sequence[str], *, flag: str, what: str = "classes") -> int:
    """The index of `value` in `names`: a name, or an integer id (also as a string, as a CLI
    passes it) within range. Anything else is a ConfigError naming `flag` and the names."""
    if isinstance(value, str) and value in names:
        return list(names).index(value)
    try:
        index = int(value)
    except ValueError:
        index = -1
    if not 0 <= index < len(names):
        raise ConfigError(
            f"{flag} {value!r} is not one of this model's {what} ({', '.join(names)})"
        )
    return index
