"""Discovery of installed domain packages through the ``polydit.domains`` entry-point group."""

from dataclasses import dataclass
from importlib.metadata import entry_points

from polydit.core.cli import Domain

GROUP = "polydit.domains"


@dataclass(frozen=True)
class Installed:
    """A domain package that loaded: its `Domain` and the installed version."""

    domain: Domain
    version: str


@dataclass(frozen=True)
class Broken:
    """An entry point that failed to load, and why."""

    name: str
    target: str
    error: str


def discover() -> tuple[list[Installed], list[Broken]]:
    """Every installed domain, by name; entry points that fail to load are returned, not raised."""
    installed: list[Installed] = []
    broken: list[Broken] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        try:
            domain = point.load()
            if not isinstance(domain, Domain):
                raise TypeError(f"{type(domain).__name__} is not a polydit.core.cli.Domain")
        except Exception as e:  # a broken plugin must not take the others down
            broken.append(Broken(point.name, point.value, f"{type(e).__name__}: {e}"))
        else:
            version = point.dist.version if point.dist is not None else "unknown"
            installed.append(Installed(domain, version))
    return installed, broken
