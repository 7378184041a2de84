"""JSON round-trip for frozen dataclass configs.

Every model, codec and process config in polydit is a frozen dataclass of JSON-able fields
(numbers, strings, bools, None, tuples/lists of those, and nested config dataclasses).
:func:`to_dict` / :func:`from_dict` convert without loss; unknown or missing fields raise a
:class:`~polydit.core.errors.ConfigError` that names the field. Config classes inherit
:class:`JsonConfig` for the methods (``to_dict``, ``from_dict``, ``replace``, ``merged``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Self, TypeVar

from polydit.core.errors import ConfigError

T = TypeVar("T")


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-able dict of a (nested) config dataclass; tuples become lists."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a config dataclass instance, got {type(config).__name__}")
    return {f.name: _encode(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def from_dict(cls: type[T], data: dict[str, Any], *, where: str = "") -> T:
    """Build `cls` from `data`, converting nested dicts and lists back to dataclasses/tuples."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {name: _decode(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required field is missing
        raise ConfigError(f"{where}: {e}") from None


def _decode(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        tp, origin = options[0], typing.get_origin(options[0])
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class JsonConfig:
    """Mixin for frozen config dataclasses: the JSON round trip and changed copies.

    ``from_dict`` reads a whole config (a missing field takes its class default);
    ``merged`` lays a partial, nested override — what ``--config`` JSON gives — over this
    config: ``spec.merged({"train": {"lr": 1e-4}})`` changes the learning rate and keeps the
    rest of ``spec.train``.
    """

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> Self:
        return from_dict(cls, data, where=where)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def merged(self, overrides: dict[str, Any], where: str = "") -> Self:
        """A copy with the fields of `overrides` replaced; a dict given for a nested config
        replaces only the fields it names. `where` names the source in errors."""
        where = where or type(self).__name__
        if not isinstance(overrides, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(overrides).__name__}")
        return from_dict(type(self), _overlay(to_dict(self), overrides), where=where)


def _overlay(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _overlay(base[key], value)
        else:
            out[key] = value
    return out
