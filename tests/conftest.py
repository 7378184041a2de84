"""Makes `example_domain` (a tiny complete domain the core tests and the conformance suite run)
importable, and skips the `bf16` tests on CPUs without native bf16 (there `--dtype auto` samples
in fp32, and bf16 would take 10–35× longer) unless POLYDIT_BF16_TESTS=1."""

import os
import sys
from pathlib import Path

import pytest

from polydit.core.precision_choice import resolve_dtype

sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if resolve_dtype("auto", "cpu") == "bf16" or os.environ.get("POLYDIT_BF16_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="no native bf16 on this CPU (set POLYDIT_BF16_TESTS=1 to run)")
    for item in items:
        if "bf16" in item.keywords:
            item.add_marker(skip)
