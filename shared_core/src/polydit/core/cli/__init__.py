"""One CLI factory for every domain package: `make_cli(DOMAIN)`, run with `run_cli(app)`.

`Cache`/`CacheOpts` (typer option types) and `parse_cache_opts` serve a domain's own extra
commands that take `--cache` (e.g. a policy rollout).
"""

from polydit.core.cli.domain import (
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    SampleOptions,
    TrainOptions,
)
from polydit.core.cli.factory import Cache, CacheOpts, make_cli
from polydit.core.cli.params import parse_cache_opts
from polydit.core.cli.policy import new_app, run_cli

__all__ = [
    "Cache",
    "CacheOpts",
    "DataOptions",
    "Domain",
    "EvalOptions",
    "Flag",
    "GalleryItem",
    "SampleOptions",
    "TrainOptions",
    "make_cli",
    "new_app",
    "parse_cache_opts",
    "run_cli",
]
