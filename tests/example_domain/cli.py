"""The ring domain's CLI: its `Domain` (names, flags, how samples are written) and nothing else.

Light on purpose: torch and the library (:mod:`example_domain.ring`) load inside the methods.
Its shipped models live in ``$POLYDIT_EXAMPLE_ROOT``; run as ``python -m example_domain.cli``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from polydit.core.cli import Domain, Flag, make_cli, run_cli


class RingDomain(Domain):
    name = "ring"
    package = "polydit-core"  # an example inside the core tests saves as the core package
    default_model = "tiny"
    generator = "example_domain.ring:RingGenerator"
    recipes = {"ring": "example_domain.ring:RECIPE"}
    sample_options = (Flag("scale", float, 1.0, "Multiply every point by this."),)

    def __init__(self, pretrained_root: Path) -> None:
        self.pretrained_root = pretrained_root

    def sample(self, generator: Any, opts: Any, out: Path) -> list[dict[str, Any]]:
        import numpy as np

        points = generator.sample(opts.num, opts.seed, **opts.generation())
        names = [f"points_{opts.first + i:03d}.npy" for i in range(opts.num)]
        for name, p in zip(names, points, strict=True):
            np.save(out / name, opts.extra["scale"] * p)
        return [
            {"file": name, "seed": opts.seed + i, "conditioning": {}}
            for i, name in enumerate(names)
        ]

    def evaluate(self, generator: Any, opts: Any) -> dict[str, float]:
        from example_domain.ring import ring_distance

        return {"ring_distance": ring_distance(generator.sample(opts.num or 64, opts.seed))}

    def data_show(self, opts: Any) -> None:
        from example_domain.ring import ring, ring_distance

        print(f"ring: 512 sets of 8 points; mean distance {ring_distance(ring(512, 8, 1).numpy())}")

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[Any]:
        return []


DOMAIN = RingDomain(Path(os.environ.get("POLYDIT_EXAMPLE_ROOT", "pretrained")))
app = make_cli(DOMAIN)

if __name__ == "__main__":
    run_cli(app)
