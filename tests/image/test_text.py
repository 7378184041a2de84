"""Text conditioning: offline prompt features and a (tiny, untrained) MM-DiT text model."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from polydit.image.cli import app
from polydit.image.text import caption, encode_prompts


def test_prompt_features_are_offline_token_features_with_a_mask() -> None:
    feats, mask = encode_prompts(["a handwritten seven", "a handwritten digit that is a seven"])
    assert feats.shape[0] == 2 and feats.shape[2] == 384
    assert mask.dtype == torch.bool and mask[0].sum() < mask[1].sum() == feats.shape[1]
    assert caption("a handwritten {}", "7") == "a handwritten seven"


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text")
    config = root / "c.json"
    config.write_text(json.dumps({"preset": "micro", "train": {"steps": 1, "batch_size": 4}}))
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            "digits",
            "--text",
            "--config",
            str(config),
            "--out",
            str(root / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    return root / "run" / "model"


def test_text_model_samples_from_a_prompt(text_model: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["sample", "--model", str(text_model), "--num", "2", "--steps", "2"]
    result = runner.invoke(app, [*args, "--prompt", "a handwritten seven", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "samples.json").read_text())
    assert records[0]["conditioning"]["prompt"] == "a handwritten seven"
    missing = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert missing.exit_code == 1 and "--prompt" in missing.output
