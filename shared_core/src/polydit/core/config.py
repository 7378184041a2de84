"""JSON round-trip for frozen dataclass configs.

Every model, codec and process config in polydit is a frozen dataclass of JSON-able fields
(numbers, strings, bools, None, tuples/lists of those, and nested config dataclasses).
:func:`to_dict` / :func:`from_dict` convert without loss; unknown or missing fields raise a
:class:`~polydit.core.errors.ConfigError` that names the field. Config classes inherit
:class:`JsonConfig` for the methods (``to_dict``, ``from_dict``, ``replace``, ``merged``).
"""

from __future__ import annotations

import contextlib
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
    """`value` as type `tp`, or a ConfigError naming `where`, what was expected and what came."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            with contextlib.suppress(ConfigError):
                return _decode(option, value, where)
        raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if args and len(items) != len(value):
            raise ConfigError(f"{where}: expected a list of {len(items)}, got {value!r}")
        items = items or [Any] * len(value)
        pairs = enumerate(zip(items, value, strict=True))
        return tuple(_decode(t, v, f"{where}[{i}]") for i, (t, v) in pairs)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected {_describe(tp)}, got {value!r}")
        return value
    expected = _SCALARS.get(tp)
    if expected is not None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = {
            bool: isinstance(value, bool),
            int: number and float(value).is_integer(),
            float: number,
            str: isinstance(value, str),
        }[tp]
        if not ok:
            raise ConfigError(f"{where}: expected {expected}, got {value!r}")
        return tp(value)
    if (tp is dict or origin is dict) and not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {value!r}")
    return value


_SCALARS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a JSON object"
    return _SCALARS.get(tp, getattr(tp, "__name__", str(tp)))


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
