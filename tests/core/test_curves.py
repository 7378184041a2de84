"""curves.png: drawn from metrics.jsonl by every training run, robust to a torn last line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from polydit.core.train.curve import read_metrics, write_curves


def lines(records: list[dict[str, float]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_curves_are_a_picture_of_every_record_and_skip_a_torn_line(tmp_path: Path) -> None:
    records = [
        {"step": s, "loss": 2.0 / s, "edges": 1.0 / s, "grad_norm": 1.0, "lr": 1e-3 * s}
        for s in range(1, 6)
    ]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(lines(records) + '{"step": 6, "lo')
    assert read_metrics(metrics) == records
    png = write_curves(metrics, tmp_path / "curves.png", "run")
    image = np.asarray(Image.open(png).convert("L"))
    assert image.shape == (300, 900) and image.std() > 10  # drawn, not blank
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "metrics.jsonl"]


def test_no_curves_without_records(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("")
    assert write_curves(metrics, tmp_path / "curves.png") is None
    assert not (tmp_path / "curves.png").exists()
