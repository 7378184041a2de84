"""Makes `example_domain` (a tiny complete domain the core tests and the conformance suite run)
importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
