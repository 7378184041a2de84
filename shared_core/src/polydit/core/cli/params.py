"""Validation of the common flags: device, lazily-known names, --model, --config, domain flags.

Everything here raises `typer.BadParameter`, which the CLI reports as a usage error (exit 2).
Names that live in torch-importing modules (samplers) are looked up only when a value is given,
so ``--help`` imports no torch.
"""

import importlib
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from polydit.core.cli.domain import Domain, Flag

_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def parse_device(value: str) -> str:
    """Check `value` is cpu, cuda or cuda:N and, for cuda, that such a GPU exists."""
    if not _DEVICE.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a device; expected cpu, cuda or cuda:N")
    if value == "cpu":
        return value
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(value.partition(":")[2] or 0)
    if index >= count:
        found = (
            f"only {count} CUDA device(s) are visible" if count else "no CUDA device is available"
        )
        raise typer.BadParameter(f"{value!r} was requested but {found}; use --device cpu")
    return value


def named(module: str, attribute: str) -> Callable[[str | None], str | None]:
    """A callback accepting None or a member of the tuple `module.attribute`, imported on use."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        names = getattr(importlib.import_module(module), attribute)
        if value not in names:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(names)}")
        return value

    return check


def check_cache_opts(items: list[str] | None) -> list[str] | None:
    """--cache-opts callback: every item must be KEY=VALUE."""
    parse_cache_opts(items)
    return items


def parse_cache_opts(items: list[str] | None) -> dict[str, str]:
    """["interval=3", "order=2"] → {"interval": "3", "order": "2"}."""
    parsed = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: expected KEY=VALUE")
        parsed[key.strip()] = value.strip()
    return parsed


def model_resolver(domain: Domain, optional: bool = False) -> Callable[[str | None], Path | None]:
    """A --model (or --init-from) callback: a shipped model name → its directory; else an
    existing directory; with `optional`, None (the option not given) passes through."""

    def resolve(value: str | None) -> Path | None:
        if value is None:
            if optional:
                return None
            raise typer.BadParameter("a model is required")
        if value in domain.shipped_models():
            return Path(domain.pretrained_root) / value
        path = Path(value).expanduser()
        if path.is_dir():
            return path
        shipped = ", ".join(domain.shipped_models()) or "none are installed"
        raise typer.BadParameter(
            f"{value!r} is neither a shipped model ({shipped}) nor an existing directory"
        )

    return resolve


def read_json_config(value: Path | None) -> dict[str, Any]:
    """A --config callback: the JSON object in file `value` ({} when not given)."""
    if value is None:
        return {}
    try:
        data = json.loads(value.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise typer.BadParameter(f"{value}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{value}: expected a JSON object, got {type(data).__name__}")
    return data


def with_flags(verb: Callable[..., None], flags: list[Flag]) -> Callable[..., None]:
    """`verb(..., extra)` exposed to typer with one option per domain flag instead of `extra`."""
    signature = inspect.signature(verb, eval_str=True)
    common = [p for name, p in signature.parameters.items() if name != "extra"]
    taken = {p.name for p in common}
    for flag in flags:
        if flag.key in taken:
            raise ValueError(f"domain flag --{flag.name} clashes with another flag of this verb")
        taken.add(flag.key)

    def command(**values: Any) -> None:
        extra = {flag.key: values.pop(flag.key) for flag in flags}
        verb(**values, extra=extra)

    parameters = common + [_parameter(flag) for flag in flags]
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = verb.__doc__
    return command


def _parameter(flag: Flag) -> inspect.Parameter:
    kind: Any = Literal[flag.choices] if flag.choices else flag.type
    if flag.repeat:
        kind = list[kind]
    if flag.default is None:
        kind = kind | None
    names = f"--{flag.name}/--no-{flag.name}" if flag.type is bool else f"--{flag.name}"
    option = typer.Option(names, help=flag.help, min=flag.min)
    return inspect.Parameter(
        flag.key,
        inspect.Parameter.KEYWORD_ONLY,
        default=flag.default,
        annotation=Annotated[kind, option],
    )
