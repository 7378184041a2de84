"""One CLI factory for every domain package: `make_cli(DOMAIN)`, run with `run_cli(app)`.

A domain's own extra verbs reuse the option types of :mod:`polydit.core.cli.options` and, for
sampling verbs, :func:`with_generation` (the options `sample` and `eval` share).
"""

from polydit.core.cli.app import new_app, run_cli
from polydit.core.cli.domain import (
    CATEGORICAL_FLAGS,
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    GenerationOptions,
    SampleOptions,
    TrainOptions,
    import_object,
)
from polydit.core.cli.factory import make_cli, with_generation
from polydit.core.cli.output import REPORT_FILE, SAMPLES_FILE, output_directory
from polydit.core.cli.params import parse_cache_opts, with_flags

__all__ = [
    "CATEGORICAL_FLAGS",
    "REPORT_FILE",
    "SAMPLES_FILE",
    "DataOptions",
    "Domain",
    "EvalOptions",
    "Flag",
    "GalleryItem",
    "GenerationOptions",
    "SampleOptions",
    "TrainOptions",
    "import_object",
    "make_cli",
    "new_app",
    "output_directory",
    "parse_cache_opts",
    "run_cli",
    "with_flags",
    "with_generation",
]
