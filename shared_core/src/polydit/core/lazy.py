"""Lazy imports: a domain's ``import polydit.<domain>`` stays light (no torch) and its heavy
classes load on first use, named by ``"module:attribute"`` strings written in code (never read
from a config file)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package` that imports attribute `name` from its submodule
    ``homes[name]`` when first asked for: ``__getattr__ = lazy_attributes(__name__, {...})``."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def import_object(target: str) -> Any:
    """The object a ``"package.module:attribute"`` string names."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
