"""One CLI factory for every domain package: `make_cli(DOMAIN)`, run with `run_cli(app)`."""

from polydit.core.cli.domain import (
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    SampleOptions,
    TrainOptions,
)
from polydit.core.cli.factory import make_cli
from polydit.core.cli.policy import new_app, run_cli

__all__ = [
    "DataOptions",
    "Domain",
    "EvalOptions",
    "Flag",
    "GalleryItem",
    "SampleOptions",
    "TrainOptions",
    "make_cli",
    "new_app",
    "run_cli",
]
