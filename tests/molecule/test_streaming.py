"""`sample` streams molecules and crystals in batches: one SDF appended to, CIFs numbered on."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polydit.molecule.cli import DOMAIN, app


@pytest.mark.parametrize("kind", ["molecule", "crystal"])
def test_a_run_in_batches_writes_what_one_batch_writes(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(out: Path) -> list[dict]:
        args = ["sample", "--kind", kind, "--num", "7", "--steps", "2", "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return json.loads((out / "samples.json").read_text())

    whole = run(tmp_path / "whole")
    monkeypatch.setattr(DOMAIN, "sample_batch", 3)
    batched = run(tmp_path / "batched")
    assert batched == whole
    files = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "batched").iterdir())
    for name in files:
        assert (tmp_path / "whole" / name).read_bytes() == (
            tmp_path / "batched" / name
        ).read_bytes()
